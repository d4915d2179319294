"""`ragd audit verify|list|public-key|generate-key` and `ragd purge`, run as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests import backend as run_backend
from tests.audit.helpers import pg_tamper, tamper
from tests.support import REPO

from ragd.audit import load_signer
from ragd.audit.base import AuditLog
from ragd.audit.signing import AuditSigner, generate_seed_b64
from ragd.auth.actor import LOCAL_ACTOR
from ragd.config import Settings
from ragd.store.backend import open_backend


def ragd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAGD_")}
    return subprocess.run(
        [sys.executable, "-m", "ragd.cli.main", *args],
        cwd=REPO,
        env={**clean, **run_backend.store_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _five_entries(log: AuditLog) -> None:
    log.append("auth.login", tenant_id="default", actor=LOCAL_ACTOR)
    log.append("document.uploaded", tenant_id="default", actor=LOCAL_ACTOR, target="doc-1")
    log.record_decision(LOCAL_ACTOR, "q?", [("c1", 0.7)], "an answer", "extractive")
    log.append("document.deleted", tenant_id="default", actor=LOCAL_ACTOR, target="doc-1")
    log.append("auth.login", tenant_id="other", actor=None)


def _write_five(settings: Settings) -> None:
    backend = open_backend(settings.store_url)
    try:
        _five_entries(backend.audit_log(load_signer(settings)))
    finally:
        backend.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory whose audit log holds 5 entries (the third a decision record)."""
    d = tmp_path / "data"
    _write_five(Settings(data_dir=d))
    return d


def test_verify_ok(data_dir: Path) -> None:
    r = ragd("audit", "verify", "--data-dir", str(data_dir))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok, 5 entries"


@pytest.mark.sqlite_only  # tampers with the SQLite file
def test_verify_names_the_tampered_entry(data_dir: Path) -> None:
    tamper(data_dir / "ragd.sqlite3", "UPDATE audit_log SET target = 'doc-2' WHERE seq = 4")
    r = ragd("audit", "verify", "--data-dir", str(data_dir))
    assert r.returncode == 1
    assert "seq 4" in r.stdout and "altered" in r.stdout


def test_verify_with_the_public_key_alone(data_dir: Path) -> None:
    pub = ragd("audit", "public-key", "--data-dir", str(data_dir))
    assert pub.returncode == 0, pub.stderr
    key_b64 = pub.stdout.splitlines()[0]
    assert "BEGIN PUBLIC KEY" in pub.stdout
    (data_dir / "keys" / "audit-ed25519.key").unlink(missing_ok=True)  # an auditor holds no private key (a
    # PostgreSQL run has it in the settings, never in a file)
    assert ragd("audit", "verify", "--public-key", key_b64, "--data-dir", str(data_dir)).returncode == 0
    assert not (data_dir / "keys" / "audit-ed25519.key").exists()
    other = AuditSigner.from_seed_b64(generate_seed_b64()).public_key_b64
    r = ragd("audit", "verify", "--public-key", other, "--data-dir", str(data_dir))
    assert r.returncode == 1 and "seq 1" in r.stdout and "not a trusted key" in r.stdout
    r = ragd("audit", "verify", "--public-key", "nope", "--data-dir", str(data_dir))
    assert r.returncode == 1 and "--public-key: an Ed25519 public key is 32 bytes" in r.stderr


def test_list(data_dir: Path) -> None:
    r = ragd("audit", "list", "--json", "--action", "document.*", "--data-dir", str(data_dir))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(e["seq"], e["action"]) for e in rows] == [(4, "document.deleted"), (2, "document.uploaded")]
    assert rows[0]["actor"]["email"] == LOCAL_ACTOR.email and rows[0]["hash"] and rows[0]["signature"]
    r = ragd("audit", "list", "--limit", "2", "--data-dir", str(data_dir))
    assert r.returncode == 0 and "5 entries" in r.stdout and "auth.login" in r.stdout


def test_generate_key_is_a_valid_setting(tmp_path: Path) -> None:
    r = ragd("audit", "generate-key")
    assert r.returncode == 0
    seed = r.stdout.strip()
    settings = Settings(data_dir=tmp_path, audit={"signing_key": seed})
    assert load_signer(settings).key_id == AuditSigner.from_seed_b64(seed).key_id


def test_purge_applies_retention_and_is_audited(data_dir: Path) -> None:
    time.sleep(0.01)
    r = ragd("purge", "--data-dir", str(data_dir), env={"RAGD_AUDIT__AUDIT_DAYS": "0.0000001"})  # ~9 ms
    assert r.returncode == 0, r.stderr
    assert "4 audit entries" in r.stderr  # the newest entry is always kept
    assert "kept forever: conversations, queries" in r.stderr
    r = ragd("audit", "list", "--json", "--data-dir", str(data_dir))
    assert [json.loads(line)["action"] for line in r.stdout.splitlines()] == [
        "retention.purged",
        "audit.purged",
        "auth.login",
    ]
    assert ragd("audit", "verify", "--data-dir", str(data_dir)).stdout.strip() == "ok, 3 entries"


# -- the store on PostgreSQL (RAGD_STORE__URL), the key file in the data directory ------------------------------------
@pytest.fixture
def pg_data_dir(tmp_path: Path, pg_url: str) -> Path:
    """A data directory (holding only the signing key) whose store is PostgreSQL, its audit log 5 entries."""
    d = tmp_path / "data"
    _write_five(Settings(data_dir=d, store={"url": pg_url}))
    return d


def test_verify_and_list_on_postgresql(pg_data_dir: Path, pg_url: str) -> None:
    env = {"RAGD_STORE__URL": pg_url}
    r = ragd("audit", "verify", "--data-dir", str(pg_data_dir), env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok, 5 entries"
    assert not (pg_data_dir / "ragd.sqlite3").exists()  # the chain was read from PostgreSQL
    r = ragd("audit", "list", "--json", "--action", "document.*", "--data-dir", str(pg_data_dir), env=env)
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["seq"] for line in r.stdout.splitlines()] == [4, 2]
    key_b64 = ragd("audit", "public-key", "--data-dir", str(pg_data_dir)).stdout.splitlines()[0]
    (pg_data_dir / "keys" / "audit-ed25519.key").unlink(missing_ok=True)  # an auditor holds no private key
    r = ragd("audit", "verify", "--public-key", key_b64, "--data-dir", str(pg_data_dir), env=env)
    assert r.returncode == 0 and r.stdout.strip() == "ok, 5 entries", r.stderr


def test_verify_on_postgresql_names_the_entry_a_superuser_edited(pg_data_dir: Path, pg_url: str) -> None:
    pg_tamper(pg_url, "UPDATE audit_log SET target = 'doc-2' WHERE seq = 4")
    r = ragd("audit", "verify", "--data-dir", str(pg_data_dir), env={"RAGD_STORE__URL": pg_url})
    assert r.returncode == 1
    assert "seq 4" in r.stdout and "altered" in r.stdout and "3 entries before it are intact" in r.stdout
