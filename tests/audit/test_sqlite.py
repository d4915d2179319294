"""The SQLite audit log: the hash chain, signatures, the triggers guarding it, retention and concurrent appends."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from tests.audit.helpers import raw, tamper
from tests.support import REPO

from ragd.audit import GENESIS, GLOBAL_TENANT, PURGE_ACTION
from ragd.audit.base import answer_hash, entry_hash, entry_payload, signed_message
from ragd.audit.signing import AuditSigner, generate_seed_b64
from ragd.audit.sqlite import SqliteAuditLog
from ragd.auth.actor import LOCAL_ACTOR, Actor
from ragd.models import Chunk, ScoredChunk
from ragd.store.backend import open_backend

ALICE = Actor(user_id="u-alice", email="alice@example.com", role="user", tenant_id="acme", key_id="k1")
BOB = Actor(user_id="u-bob", email="bob@example.com", role="admin", tenant_id="other")


def _tick() -> float:
    """Now, once the clock has moved past every entry written so far."""
    now = time.time()
    while time.time() <= now:
        time.sleep(0.001)
    return time.time()


def _fill(log: SqliteAuditLog, n: int = 5) -> None:
    for i in range(n):
        log.append("document.uploaded", tenant_id="acme", actor=ALICE, target=f"doc-{i}", details={"i": i})


def _hit(chunk_id: str, score: float) -> ScoredChunk:
    chunk = Chunk(chunk_id, 1, "doc-1", "default", "a.pdf", 0, "text", 0, 4, 1, 1, [], "h")
    return ScoredChunk(chunk, score)


# -- the chain -------------------------------------------------------------------------------------------------
def test_appends_form_a_chain_that_verifies(log: SqliteAuditLog) -> None:
    first = log.append("auth.login", tenant_id="acme", actor=ALICE, details={"ip": "127.0.0.1"})
    second = log.append("document.deleted", tenant_id="acme", actor=None, target="doc-1")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert first.actor is not None and first.actor.key_id == "k1" and first.actor.email == "alice@example.com"
    assert entry_hash(first.payload()) == first.hash
    assert log.get(1) == first and log.get(2) == second and log.get(3) is None
    assert log.verify().ok and log.verify(log.public_key).checked == 2


def test_empty_log_verifies(log: SqliteAuditLog) -> None:
    assert log.verify().to_dict() == {"ok": True, "checked": 0, "first_bad_seq": None, "reason": None}


def test_details_must_be_json(log: SqliteAuditLog) -> None:
    with pytest.raises(ValueError, match="plain JSON"):
        log.append("x", tenant_id="acme", actor=None, details={"when": object()})
    with pytest.raises(ValueError):
        log.append("x", tenant_id="acme", actor=None, details={"score": float("nan")})
    entry = log.append("x", tenant_id="acme", actor=None, details={"pair": (1, 2)})
    assert entry.details == {"pair": [1, 2]} == log.get(entry.seq).details  # stored as it reads back


def test_decision_record_is_signed(log: SqliteAuditLog) -> None:
    entry = log.record_decision(
        ALICE,
        "How long do refunds take?",
        [_hit("c1", 0.91), _hit("c2", 0.5)],
        "Within 14 days [1].",
        "fake-model",
        {"top_k": 5, "mode": "hybrid"},
        target="query-1",
    )
    assert entry.action == "query.answered" and entry.tenant_id == "acme" and entry.target == "query-1"
    d = entry.decision
    assert d is not None and d["question"] == "How long do refunds take?"
    assert d["user"] == {"user_id": "u-alice", "email": "alice@example.com"}
    assert d["retrieved"] == [
        {"chunk_id": "c1", "score": 0.91, "document_id": "doc-1"},
        {"chunk_id": "c2", "score": 0.5, "document_id": "doc-1"},
    ]
    assert d["answer_sha256"] == answer_hash("Within 14 days [1].") and d["model"] == "fake-model"
    assert d["settings"] == {"top_k": 5, "mode": "hybrid"}
    log.public_key.verify(base64.b64decode(entry.signature), signed_message(d, entry.hash))  # raises if bad
    assert log.get(entry.seq) == entry and log.verify().ok


# -- tampering ---------------------------------------------------------------------------------------------------
def test_edited_details_are_detected_at_their_seq(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log)
    tamper(db_path, "UPDATE audit_log SET details = ? WHERE seq = 3", (json.dumps({"i": 99}),))
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 3 and result.checked == 2
    assert "altered" in (result.reason or "")


def test_unreadable_details_are_detected(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log)
    tamper(db_path, "UPDATE audit_log SET details = '{not json' WHERE seq = 4")
    assert log.verify().first_bad_seq == 4


def test_edited_actor_is_detected(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log)
    tamper(db_path, "UPDATE audit_log SET actor_email = 'mallory@example.com' WHERE seq = 2")
    assert log.verify().first_bad_seq == 2


def test_entry_removed_from_the_middle_is_detected(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log)
    tamper(db_path, "DELETE FROM audit_log WHERE seq = 3")
    result = log.verify()
    assert result.first_bad_seq == 4 and "3 are missing" in (result.reason or "")


def test_oldest_entries_removed_without_purge_are_detected(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log)
    tamper(db_path, "DELETE FROM audit_log WHERE seq <= 2")
    result = log.verify()
    assert result.first_bad_seq == 3 and "no audit.purged entry" in (result.reason or "")


def test_newest_entries_cut_off_are_detected(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log)
    tamper(db_path, "DELETE FROM audit_log WHERE seq >= 4")
    result = log.verify()
    assert result.first_bad_seq == 4 and "signed head names seq 5" in (result.reason or "")


def test_wiping_the_log_and_appending_again_is_detected(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log)
    tamper(db_path, "DELETE FROM audit_log")
    entry = log.append("auth.login", tenant_id="acme", actor=ALICE)
    assert entry.seq == 6  # appends continue from the signed head, not from what is left
    assert log.verify().first_bad_seq == 6


def test_forged_signature_fails(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log, 2)
    entry = log.record_decision(ALICE, "q?", [("c1", 0.5)], "answer", "m")
    mallory = AuditSigner.from_seed_b64(generate_seed_b64())
    forged = mallory.sign(signed_message(entry.decision, entry.hash))
    tamper(db_path, "UPDATE audit_log SET signature = ? WHERE seq = ?", (forged, entry.seq))
    result = log.verify()
    assert result.first_bad_seq == entry.seq and "invalid signature" in (result.reason or "")


def test_rewritten_chain_with_a_forged_key_fails(log: SqliteAuditLog, db_path: Path) -> None:
    """Rewriting a decision and recomputing every later hash does not help without the private key."""
    log.record_decision(ALICE, "q?", [("c1", 0.5)], "the real answer", "m")
    _fill(log, 3)
    mallory = AuditSigner.from_seed_b64(generate_seed_b64())
    entries = sorted(log.list()[0], key=lambda e: e.seq)
    conn = raw(db_path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    prev = GENESIS
    for e in entries:
        decision = dict(e.decision, answer_sha256=answer_hash("a forged answer")) if e.decision else None
        payload = entry_payload(
            e.seq, e.ts, e.tenant_id, e.actor, e.action, e.target, e.details, decision, prev, e.key_id
        )
        h = entry_hash(payload)
        conn.execute(
            "UPDATE audit_log SET decision = ?, prev_hash = ?, hash = ?, signature = ? WHERE seq = ?",
            (json.dumps(decision) if decision else None, prev, h, mallory.sign(signed_message(decision, h)), e.seq),
        )
        prev = h
    conn.close()
    result = log.verify()
    assert result.first_bad_seq == 1 and "invalid signature" in (result.reason or "")


def test_verify_with_another_public_key_fails(log: SqliteAuditLog) -> None:
    _fill(log, 1)
    other = AuditSigner.from_seed_b64(generate_seed_b64())
    result = log.verify(other.public_key)
    assert result.first_bad_seq == 1 and "not a trusted key" in (result.reason or "")
    assert log.verify([other.public_key, log.public_key]).ok  # rotated keys: trust both


def test_read_only_log_verifies_but_cannot_append(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log, 2)
    backend = open_backend(f"sqlite:///{db_path}")
    try:
        reader = backend.audit_log(None)
        assert reader.verify(log.public_key).ok
        with pytest.raises(Exception, match="read-only"):
            reader.append("x", tenant_id="acme", actor=None)
    finally:
        backend.close()


# -- the triggers -------------------------------------------------------------------------------------------------
def test_sql_update_and_delete_are_refused(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log, 3)
    conn = raw(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            conn.execute("UPDATE audit_log SET action = 'nothing' WHERE seq = 2")
        with pytest.raises(sqlite3.DatabaseError, match="only be removed by retention"):
            conn.execute("DELETE FROM audit_log WHERE seq = 1")
        with pytest.raises(sqlite3.DatabaseError, match="only be removed by retention"):
            conn.execute("DELETE FROM audit_log")
        with pytest.raises(sqlite3.DatabaseError, match="cannot be deleted"):
            conn.execute("DELETE FROM audit_head")
        with pytest.raises(sqlite3.DatabaseError, match="appended at the end"):  # no filling of gaps or rewinds
            conn.execute(
                "INSERT INTO audit_log (seq, ts, tenant_id, action, prev_hash, hash, signature, key_id) "
                "VALUES (2, 0, 'acme', 'x', 'p', 'h', 's', 'k')"
            )
        with pytest.raises(sqlite3.DatabaseError, match="keeps the newest"):
            conn.execute("INSERT INTO audit_purge_guard (id, before_seq) VALUES (1, 4)")
        # a guard allows only an oldest-first prefix, and nothing may be appended while it exists
        conn.execute("BEGIN")
        conn.execute("INSERT INTO audit_purge_guard (id, before_seq) VALUES (1, 2)")
        with pytest.raises(sqlite3.DatabaseError, match="only be removed by retention"):
            conn.execute("DELETE FROM audit_log WHERE seq = 3")
        with pytest.raises(sqlite3.DatabaseError, match="appended at the end"):
            conn.execute(
                "INSERT INTO audit_log (seq, ts, tenant_id, action, prev_hash, hash, signature, key_id) "
                "VALUES (4, 0, 'acme', 'x', 'p', 'h', 's', 'k')"
            )
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    assert log.verify().ok and log.verify().checked == 3


# -- retention ----------------------------------------------------------------------------------------------------
def test_purge_keeps_the_chain_verifiable_and_is_audited(log: SqliteAuditLog) -> None:
    _fill(log, 4)
    cutoff = _tick()
    log.append("auth.login", tenant_id="acme", actor=ALICE)
    result = log.purge_before(cutoff, actor=LOCAL_ACTOR)
    assert result.removed == 4 and result.anchor_seq == 4 and result.entry is not None
    purged = result.entry
    assert purged.action == PURGE_ACTION and purged.tenant_id == GLOBAL_TENANT and purged.seq == 6
    assert purged.details["removed"] == 4 and purged.details["anchor_seq"] == 4
    assert log.get(5).prev_hash == purged.details["anchor_hash"]
    assert [e.seq for e in log.list()[0]] == [6, 5]
    assert log.verify().ok and log.verify().checked == 2
    assert log.purge_before(cutoff).removed == 0  # nothing older left: no new entry either
    assert log.list()[1] == 2


def test_repeated_purges_keep_the_chain_verifiable(log: SqliteAuditLog) -> None:
    _fill(log, 2)
    log.purge_before(_tick())  # removes 1, keeps 2 (the newest), appends 3
    _fill(log, 2)
    assert log.verify().ok
    log.purge_before(_tick())  # removes 2..4 (with the first purge's entry), keeps 5 (the newest), appends 6
    assert [e.seq for e in log.list()[0]] == [6, 5]
    assert log.verify().ok
    log.purge_before(time.time() + 3600)  # the future: still keeps the newest entry
    assert [e.seq for e in log.list()[0]] == [7, 6] and log.verify().ok


def test_removing_the_first_entry_after_a_purge_is_detected(log: SqliteAuditLog, db_path: Path) -> None:
    _fill(log, 3)
    cutoff = _tick()
    _fill(log, 3)
    log.purge_before(cutoff)
    tamper(db_path, "DELETE FROM audit_log WHERE seq = 4")
    assert log.verify().first_bad_seq == 5


# -- listing ------------------------------------------------------------------------------------------------------
def test_list_filters(log: SqliteAuditLog) -> None:
    log.append("document.uploaded", tenant_id="acme", actor=ALICE, target="d1")
    t1 = _tick()
    log.append("document.deleted", tenant_id="acme", actor=ALICE, target="d1")
    log.append("auth.login", tenant_id="other", actor=BOB)
    t2 = _tick()
    log.append("retention.purged", tenant_id=GLOBAL_TENANT, actor=None)
    page, total = log.list("acme")
    assert total == 3 and [e.seq for e in page] == [4, 2, 1]  # its own entries and those about every tenant
    assert log.list()[1] == 4
    assert [e.seq for e in log.list(action="document.*")[0]] == [2, 1]
    assert [e.seq for e in log.list(action="document.deleted")[0]] == [2]
    assert log.list(action="document")[1] == 0
    assert [e.seq for e in log.list(actor="ALICE@example.com")[0]] == [2, 1]
    assert [e.seq for e in log.list(actor="u-bob")[0]] == [3]
    assert [e.seq for e in log.list(since=t1, until=t2)[0]] == [3, 2]
    page, total = log.list(limit=1, offset=1)
    assert total == 4 and [e.seq for e in page] == [3]
    assert log.list(action="%")[1] == 0  # LIKE wildcards are literal


# -- concurrency --------------------------------------------------------------------------------------------------
def test_threads_append_to_one_chain(log: SqliteAuditLog) -> None:
    def work(n: int) -> None:
        for i in range(25):
            log.append("t", tenant_id="acme", actor=None, details={"thread": n, "i": i})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.list()[1] == 100 and log.verify().checked == 100


_WRITER = textwrap.dedent("""
    import sys
    from ragd.audit.signing import load_or_create_key_file
    from ragd.audit.sqlite import SqliteAuditLog
    log = SqliteAuditLog(sys.argv[1], load_or_create_key_file(__import__("pathlib").Path(sys.argv[2])))
    log.migrate()
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(60):
        log.append("proc", tenant_id="acme", actor=None, details={"proc": sys.argv[3], "i": i})
    log.close()
""")


def test_two_processes_append_to_one_chain(log: SqliteAuditLog, db_path: Path, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "audit-ed25519.key"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(db_path), str(key), name],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for p in procs:  # both ready, then both go
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        assert p.wait(120) == 0
    entries, total = log.list(limit=1000)
    assert total == 120 and sorted(e.seq for e in entries) == list(range(1, 121))
    assert {e.details["proc"] for e in entries} == {"a", "b"}
    assert log.verify().ok and log.verify().checked == 120
