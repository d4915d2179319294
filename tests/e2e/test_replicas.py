"""Two `ragd serve` replicas on separate data directories and one PostgreSQL (issue 15): what one does, the other
sees; sessions, keys, rate limits and the audit chain hold across them; a replica killed mid-upload loses nothing
it acknowledged and indexes nothing twice."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from tests.auth.conftest import PASSWORD, ragd_cli
from tests.support import Server

from ragd.audit.signing import generate_seed_b64

pytestmark = pytest.mark.slow


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        pause.wait(step)
    return check()


@pytest.fixture
def replicas(tmp_path: Path, pg_url: str) -> Iterator[tuple[Server, Server, dict[str, str]]]:
    shared = {
        "RAGD_STORE__URL": pg_url,
        "RAGD_AUTH__ENABLED": "true",
        "RAGD_AUTH__JWT_SECRET": secrets.token_urlsafe(40),
        "RAGD_AUDIT__SIGNING_KEY": generate_seed_b64(),
        "RAGD_RATELIMIT__URL": f"redis://127.0.0.1:6379/{secrets.randbelow(8) + 8}",
        "RAGD_INGEST__LEASE_SECONDS": "6",  # a killed replica's jobs come back to the other one soon
    }
    a = Server(tmp_path / "a" / "data", dict(shared))
    b = Server(tmp_path / "b" / "data", dict(shared))
    for s in (a, b):
        s.data_dir.parent.mkdir(parents=True)
        s.start()
    res = ragd_cli(a.data_dir, "users", "create-admin", "--email", "op@example.org", "--password", PASSWORD,
                   env=shared)
    assert res.returncode == 0, res.stderr
    try:
        yield a, b, shared
    finally:
        for s in (a, b):
            s.stop()


def login(server: Server, email: str = "op@example.org") -> dict[str, str]:
    r = httpx.post(server.url + "/api/v1/auth/login", json={"username": email, "password": PASSWORD}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def bearer(session: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


def upload(server: Server, headers: dict[str, str], text: str, name: str | None = None) -> str:
    files = [("file", (name or f"{uuid.uuid4().hex[:8]}.txt", text.encode()))]
    r = httpx.post(server.url + "/api/v1/documents/upload", files=files, headers=headers, timeout=120)
    assert r.status_code == 201, r.text
    return str(r.json()["documents"][0]["id"])


def found(server: Server, headers: dict[str, str], query: str) -> set[str]:
    r = httpx.post(server.url + "/api/v1/query", json={"query": query, "top_k": 5, "answer": False},
                   headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    return {hit["document_id"] for hit in r.json()["results"]}


def test_what_one_replica_does_the_other_sees(replicas: tuple[Server, Server, dict[str, str]]) -> None:
    a, b, _ = replicas
    session = login(a)  # signed in on A...
    h = bearer(session)
    assert httpx.get(b.url + "/api/v1/auth/me", headers=h, timeout=30).status_code == 200  # ...valid on B
    word = f"zyxqu{uuid.uuid4().hex[:6]}"
    doc = upload(a, h, f"The {word} valve regulates the coolant flow of the reactor.")
    assert a.wait_done(a.client(), [doc], headers=h)[doc]["status"] == "indexed"
    # searchable on B within 2 s of being indexed on A
    assert wait_until(lambda: doc in found(b, h, f"{word} valve"), timeout=2.0)
    # refresh rotation across replicas: a refresh token used on B cannot be replayed on A
    r = httpx.post(b.url + "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}, timeout=30)
    assert r.status_code == 200, r.text
    replay = httpx.post(a.url + "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]},
                        timeout=30)
    assert replay.status_code == 401
    h = bearer(login(b))
    # an API key made on B works on A
    k = httpx.post(b.url + "/api/v1/keys", json={"name": "ci"}, headers=h, timeout=30)
    assert k.status_code == 201, k.text
    key = {"X-API-Key": k.json()["key"]}
    assert doc in found(a, key, f"{word} valve")
    # a delete on B disappears on A
    assert httpx.delete(f"{b.url}/api/v1/documents/{doc}", headers=h, timeout=30).status_code == 204
    assert wait_until(lambda: doc not in found(a, h, f"{word} valve"), timeout=2.0)
    assert httpx.get(f"{a.url}/api/v1/documents/{doc}", headers=h, timeout=30).status_code == 404


def test_rate_limits_and_the_audit_chain_are_shared(replicas: tuple[Server, Server, dict[str, str]]) -> None:
    a, b, shared = replicas
    h = bearer(login(a))
    for i in range(6):  # several replicas append to one chain, interleaved
        upload(a if i % 2 else b, h, f"note {i} {uuid.uuid4().hex}")
    res = ragd_cli(a.data_dir, "audit", "verify", env=shared)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("ok, ")
    # a budget spent on A counts on B (Redis)
    r = httpx.post(a.url + "/api/v1/admin/users", json={"email": "u@example.org", "password": PASSWORD,
                                                        "role": "user"}, headers=h, timeout=30)
    assert r.status_code == 201, r.text
    u = bearer(login(b, "u@example.org"))
    codes = [httpx.get((a if i % 2 else b).url + "/api/v1/auth/me", headers=u, timeout=30).status_code
             for i in range(70)]  # role "user": 60 per minute, counted across both replicas
    assert 429 in codes and codes.count(200) <= 60


def test_a_replica_killed_mid_upload_loses_nothing_it_acknowledged(
        replicas: tuple[Server, Server, dict[str, str]], pg_url: str) -> None:
    a, b, _ = replicas
    h = bearer(login(a))
    acknowledged: list[str] = []
    stop = threading.Event()

    def keep_uploading() -> None:
        i = 0
        while not stop.is_set():
            try:
                acknowledged.append(upload(a, h, f"paragraph {i} about turbines {uuid.uuid4().hex}\n" * 40))
            except (httpx.HTTPError, AssertionError):
                return  # the replica died under us: that upload was not acknowledged
            i += 1

    t = threading.Thread(target=keep_uploading)
    t.start()
    assert wait_until(lambda: len(acknowledged) >= 3, timeout=120)
    a.kill()  # kill -9, mid-upload and mid-ingestion
    stop.set()
    t.join(60)
    # B takes over the jobs A held once their leases expire (RAGD_INGEST__LEASE_SECONDS keeps that short here)
    docs = b.wait_done(b.client(), acknowledged, headers=h, timeout=600)
    assert all(d["status"] == "indexed" for d in docs.values()), docs
    with psycopg.connect(pg_url) as conn:  # indexed exactly once: each document's chunks once, no duplicates
        rows = conn.execute(
            "SELECT document_id, count(*), count(DISTINCT ordinal) FROM chunks WHERE document_id = ANY(%s) "
            "GROUP BY document_id", (acknowledged,)).fetchall()
    assert {r[0] for r in rows} == set(acknowledged)
    assert all(n == distinct for _, n, distinct in rows)
