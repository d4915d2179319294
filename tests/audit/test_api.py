"""The audit routes over a real app (authentication off: the caller is the local admin of tenant "default")."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.audit.helpers import tamper

from ragd.api.app import create_app
from ragd.audit import GLOBAL_TENANT
from ragd.auth.actor import LOCAL_ACTOR, Actor
from ragd.config import Settings
from ragd.core import Ragd

CAROL = Actor(user_id="u-carol", email="carol@example.com", role="user", tenant_id="default")
EVE = Actor(user_id="u-eve", email="eve@example.com", role="admin", tenant_id="elsewhere")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", auth={"enabled": False})
    with TestClient(create_app(settings)) as c:
        yield c


def _ragd(client: TestClient) -> Ragd:
    return client.app.state.ragd  # type: ignore[attr-defined,no-any-return]


def _seed(client: TestClient) -> tuple[float, float]:
    audit = _ragd(client).audit
    audit.append("test.login", tenant_id="default", actor=CAROL)
    audit.append("test.upload", tenant_id="default", actor=CAROL, target="doc-1", details={"bytes": 10})
    t1 = time.time()
    while time.time() <= t1:
        time.sleep(0.001)
    audit.record_decision(LOCAL_ACTOR, "what?", [("c1", 0.3)], "that", "extractive", {"top_k": 3})
    audit.append("test.upload", tenant_id="elsewhere", actor=EVE, target="doc-9")
    audit.append("test.retention", tenant_id=GLOBAL_TENANT, actor=None)
    return t1, time.time()


def test_lists_and_filters(client: TestClient) -> None:
    t1, _ = _seed(client)
    r = client.get("/api/v1/admin/audit", params={"action": "test.*"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3  # the other tenant's entry is not listed; the one about every tenant is
    assert [e["action"] for e in body["entries"]] == ["test.retention", "test.upload", "test.login"]
    upload = body["entries"][1]
    assert upload["actor"] == {"user_id": "u-carol", "email": "carol@example.com", "role": "user", "key_id": None}
    assert upload["target"] == "doc-1" and upload["details"] == {"bytes": 10} and upload["tenant_id"] == "default"
    assert {"seq", "ts", "prev_hash", "hash", "signature", "key_id", "decision"} <= upload.keys()

    def actions(**params: object) -> list[str]:
        r = client.get("/api/v1/admin/audit", params=params)
        assert r.status_code == 200, r.text
        return [e["action"] for e in r.json()["entries"]]

    assert actions(action="test.upload") == ["test.upload"]
    assert actions(actor="carol@example.com") == ["test.upload", "test.login"]
    assert actions(actor="u-carol", since=t1) == []
    assert actions(action="test.*", until=t1) == ["test.upload", "test.login"]
    assert actions(action="test.*", limit=1, offset=1) == ["test.upload"]
    decision = client.get("/api/v1/admin/audit", params={"action": "query.answered"}).json()["entries"]
    assert len(decision) == 1 and decision[0]["decision"]["settings"] == {"top_k": 3}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"since": "yesterday"}])
def test_bad_filters_are_422(client: TestClient, params: dict[str, object]) -> None:
    r = client.get("/api/v1/admin/audit", params=params)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


def test_public_key_verifies_signatures(client: TestClient) -> None:
    _seed(client)
    r = client.get("/api/v1/admin/audit/public-key")
    assert r.status_code == 200
    body = r.json()
    audit = _ragd(client).audit
    assert body["algorithm"] == "Ed25519" and body["key_id"] == audit.key_id
    assert body["pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert base64.b64decode(body["public_key"]) == base64.b64decode(audit.signer.public_key_b64)  # type: ignore[union-attr]


@pytest.mark.sqlite_only  # tampers with the SQLite file
def test_verify(client: TestClient, tmp_path: Path) -> None:
    _seed(client)
    r = client.post("/api/v1/admin/audit/verify")
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["first_bad_seq"] is None
    entry = _ragd(client).audit.list(action="test.login")[0][0]
    tamper(tmp_path / "data" / "ragd.sqlite3", "UPDATE audit_log SET actor_role = 'admin' WHERE seq = ?", (entry.seq,))
    body = client.post("/api/v1/admin/audit/verify").json()
    assert body["ok"] is False and body["first_bad_seq"] == entry.seq and "altered" in body["reason"]
