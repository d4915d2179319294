"""The conformance suite every :class:`~ragd.audit.base.AuditLog` adapter must pass.

Subclass :class:`AuditLogConformance` in the adapter's tests and provide two fixtures:

* ``backend``: a fresh, migrated, empty :class:`~ragd.store.backend.Backend` (closed afterwards); the suite takes
  its logs from ``backend.audit_log(signer)``;
* ``tamper``: a callable running SQL statements on that database *behind the log's back*, with the protecting
  triggers out of the way (what an attacker with write access to the database does: SQLite, drop the triggers;
  PostgreSQL, a superuser's ``SET session_replication_role = replica``). Statements carry their values as SQL
  literals (:func:`sql_text`), so the same text runs on every engine::

    class TestSqliteAuditLog(AuditLogConformance):
        @pytest.fixture
        def backend(self, tmp_path):
            backend = open_backend(f"sqlite:///{tmp_path / 'ragd.sqlite3'}")
            yield backend
            backend.close()

        @pytest.fixture
        def tamper(self, tmp_path):
            return lambda *sql: drop_triggers_and_run(tmp_path / "ragd.sqlite3", *sql)

What is engine-specific stays in the adapter's tests: how the schema refuses SQL ``UPDATE``/``DELETE`` (error
types differ), and appends from several processes or replicas.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable

import pytest

from ragd.audit.base import (
    GENESIS,
    GLOBAL_TENANT,
    PURGE_ACTION,
    AuditLog,
    answer_hash,
    entry_hash,
    entry_payload,
    signed_message,
)
from ragd.audit.signing import AuditSigner, generate_seed_b64
from ragd.auth.actor import LOCAL_ACTOR, Actor
from ragd.models import Chunk, ScoredChunk
from ragd.store.backend import Backend

ALICE = Actor(user_id="u-alice", email="alice@example.com", role="user", tenant_id="acme", key_id="k1")
BOB = Actor(user_id="u-bob", email="bob@example.com", role="admin", tenant_id="other")
Tamper = Callable[..., None]


def sql_text(value: str) -> str:
    """``value`` as an SQL string literal (standard quoting, the same on SQLite and PostgreSQL)."""
    return "'" + value.replace("'", "''") + "'"


def tick() -> float:
    """Now, once the clock has moved past every entry written so far."""
    now = time.time()
    while time.time() <= now:
        threading.Event().wait(0.001)
    return time.time()


def fill(log: AuditLog, n: int = 5) -> None:
    for i in range(n):
        log.append("document.uploaded", tenant_id="acme", actor=ALICE, target=f"doc-{i}", details={"i": i})


def _hit(chunk_id: str, score: float) -> ScoredChunk:
    chunk = Chunk(chunk_id, 1, "doc-1", "default", "a.pdf", 0, "text", 0, 4, 1, 1, [], "h")
    return ScoredChunk(chunk, score)


class AuditLogConformance:
    @pytest.fixture
    def signer(self) -> AuditSigner:
        return AuditSigner.from_seed_b64(generate_seed_b64())

    @pytest.fixture
    def log(self, backend: Backend, signer: AuditSigner) -> AuditLog:
        return backend.audit_log(signer)  # closed with the backend

    @pytest.fixture
    def reader(self, backend: Backend) -> AuditLog:
        """The same log opened read-only (an auditor holding only the public key)."""
        return backend.audit_log(None)

    # -- the chain ---------------------------------------------------------------------------------------------
    def test_appends_form_a_chain_that_verifies(self, log: AuditLog) -> None:
        first = log.append("auth.login", tenant_id="acme", actor=ALICE, details={"ip": "127.0.0.1"})
        second = log.append("document.deleted", tenant_id="acme", actor=None, target="doc-1")
        assert (first.seq, second.seq) == (1, 2)
        assert first.prev_hash == GENESIS and second.prev_hash == first.hash
        assert first.actor is not None and first.actor.key_id == "k1" and first.actor.email == "alice@example.com"
        assert entry_hash(first.payload()) == first.hash
        assert log.get(1) == first and log.get(2) == second and log.get(3) is None
        assert log.verify().ok and log.verify(log.public_key).checked == 2

    def test_empty_log_verifies(self, log: AuditLog) -> None:
        assert log.verify().to_dict() == {"ok": True, "checked": 0, "first_bad_seq": None, "reason": None}

    def test_details_must_be_json(self, log: AuditLog) -> None:
        with pytest.raises(ValueError, match="plain JSON"):
            log.append("x", tenant_id="acme", actor=None, details={"when": object()})
        with pytest.raises(ValueError):
            log.append("x", tenant_id="acme", actor=None, details={"score": float("nan")})
        entry = log.append("x", tenant_id="acme", actor=None, details={"pair": (1, 2), "text": "é ' \\ \x00"})
        stored = log.get(entry.seq)
        assert stored is not None and entry.details == {"pair": [1, 2], "text": "é ' \\ \x00"} == stored.details
        assert entry == stored and log.verify().ok  # stored as it reads back, the timestamp to the bit

    def test_decision_record_is_signed(self, log: AuditLog) -> None:
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

    def test_verify_with_another_public_key_fails(self, log: AuditLog) -> None:
        fill(log, 1)
        other = AuditSigner.from_seed_b64(generate_seed_b64())
        result = log.verify(other.public_key)
        assert result.first_bad_seq == 1 and "not a trusted key" in (result.reason or "")
        assert log.verify([other.public_key, log.public_key]).ok  # rotated keys: trust both

    def test_read_only_log_verifies_but_cannot_append(self, log: AuditLog, reader: AuditLog) -> None:
        fill(log, 2)
        assert reader.verify(log.public_key).ok and reader.list()[1] == 2
        with pytest.raises(Exception, match="read-only"):
            reader.append("x", tenant_id="acme", actor=None)
        with pytest.raises(Exception, match="read-only"):
            reader.purge_before(time.time() + 60)
        assert reader.list()[1] == 2

    # -- the caller's unit of work -------------------------------------------------------------------------------
    def test_append_joins_the_callers_unit_of_work(self, backend: Backend, log: AuditLog) -> None:
        fill(log, 1)
        with pytest.raises(RuntimeError), backend.unit_of_work():
            log.append("document.deleted", tenant_id="acme", actor=ALICE, target="doc-0")
            raise RuntimeError("the delete failed after the entry was written")
        assert log.list()[1] == 1 and log.get(2) is None  # rolled back with the caller's work
        with backend.unit_of_work():
            first = log.append("document.deleted", tenant_id="acme", actor=ALICE, target="doc-0")
            second = log.append("collection.deleted", tenant_id="acme", actor=ALICE, target="c")
        assert (first.seq, second.seq) == (2, 3) and second.prev_hash == first.hash
        assert log.verify().ok and log.verify().checked == 3

    # -- tampering behind the log's back ---------------------------------------------------------------------
    def test_edited_details_are_detected_at_their_seq(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log)
        tamper(f"UPDATE audit_log SET details = {sql_text(json.dumps({'i': 99}))} WHERE seq = 3")
        result = log.verify()
        assert not result.ok and result.first_bad_seq == 3 and result.checked == 2
        assert "altered" in (result.reason or "")

    def test_unreadable_details_are_detected(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log)
        tamper("UPDATE audit_log SET details = '{not json' WHERE seq = 4")
        assert log.verify().first_bad_seq == 4

    def test_edited_actor_is_detected(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log)
        tamper("UPDATE audit_log SET actor_email = 'mallory@example.com' WHERE seq = 2")
        assert log.verify().first_bad_seq == 2

    def test_entry_removed_from_the_middle_is_detected(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log)
        tamper("DELETE FROM audit_log WHERE seq = 3")
        result = log.verify()
        assert result.first_bad_seq == 4 and "3 are missing" in (result.reason or "")

    def test_oldest_entries_removed_without_purge_are_detected(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log)
        tamper("DELETE FROM audit_log WHERE seq <= 2")
        result = log.verify()
        assert result.first_bad_seq == 3 and "no audit.purged entry" in (result.reason or "")

    def test_newest_entries_cut_off_are_detected(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log)
        tamper("DELETE FROM audit_log WHERE seq >= 4")
        result = log.verify()
        assert result.first_bad_seq == 4 and "signed head names seq 5" in (result.reason or "")

    def test_wiping_the_log_and_appending_again_is_detected(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log)
        tamper("DELETE FROM audit_log")
        entry = log.append("auth.login", tenant_id="acme", actor=ALICE)
        assert entry.seq == 6  # appends continue from the signed head, not from what is left
        assert log.verify().first_bad_seq == 6

    def test_missing_head_stops_appends(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log, 2)
        tamper("DELETE FROM audit_head")
        with pytest.raises(Exception, match="head is missing"):
            log.append("auth.login", tenant_id="acme", actor=ALICE)
        result = log.verify()
        assert result.first_bad_seq == 2 and "signed head is missing" in (result.reason or "")

    def test_forged_signature_fails(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log, 2)
        entry = log.record_decision(ALICE, "q?", [("c1", 0.5)], "answer", "m")
        mallory = AuditSigner.from_seed_b64(generate_seed_b64())
        forged = mallory.sign(signed_message(entry.decision, entry.hash))
        tamper(f"UPDATE audit_log SET signature = {sql_text(forged)} WHERE seq = {entry.seq}")
        result = log.verify()
        assert result.first_bad_seq == entry.seq and "invalid signature" in (result.reason or "")

    def test_rewritten_chain_with_a_forged_key_fails(self, log: AuditLog, tamper: Tamper) -> None:
        """Rewriting a decision and recomputing every later hash does not help without the private key."""
        log.record_decision(ALICE, "q?", [("c1", 0.5)], "the real answer", "m")
        fill(log, 3)
        mallory = AuditSigner.from_seed_b64(generate_seed_b64())
        statements = []
        prev = GENESIS
        for e in sorted(log.list()[0], key=lambda e: e.seq):
            decision = dict(e.decision, answer_sha256=answer_hash("a forged answer")) if e.decision else None
            payload = entry_payload(
                e.seq, e.ts, e.tenant_id, e.actor, e.action, e.target, e.details, decision, prev, e.key_id
            )
            h = entry_hash(payload)
            sig = mallory.sign(signed_message(decision, h))
            dec_sql = sql_text(json.dumps(decision)) if decision else "NULL"
            statements.append(
                f"UPDATE audit_log SET decision = {dec_sql}, prev_hash = {sql_text(prev)}, hash = {sql_text(h)}, "
                f"signature = {sql_text(sig)} WHERE seq = {e.seq}"
            )
            prev = h
        tamper(*statements)
        result = log.verify()
        assert result.first_bad_seq == 1 and "invalid signature" in (result.reason or "")

    # -- retention ---------------------------------------------------------------------------------------------
    def test_purge_keeps_the_chain_verifiable_and_is_audited(self, log: AuditLog) -> None:
        fill(log, 4)
        cutoff = tick()
        log.append("auth.login", tenant_id="acme", actor=ALICE)
        result = log.purge_before(cutoff, actor=LOCAL_ACTOR)
        assert result.removed == 4 and result.anchor_seq == 4 and result.entry is not None
        purged = result.entry
        assert purged.action == PURGE_ACTION and purged.tenant_id == GLOBAL_TENANT and purged.seq == 6
        assert purged.details["removed"] == 4 and purged.details["anchor_seq"] == 4
        fifth = log.get(5)
        assert fifth is not None and fifth.prev_hash == purged.details["anchor_hash"]
        assert [e.seq for e in log.list()[0]] == [6, 5]
        assert log.verify().ok and log.verify().checked == 2
        assert log.purge_before(cutoff).removed == 0  # nothing older left: no new entry either
        assert log.list()[1] == 2

    def test_purge_of_an_empty_log_does_nothing(self, log: AuditLog) -> None:
        assert log.purge_before(time.time() + 3600).removed == 0 and log.list()[1] == 0

    def test_repeated_purges_keep_the_chain_verifiable(self, log: AuditLog) -> None:
        fill(log, 2)
        log.purge_before(tick())  # removes 1, keeps 2 (the newest), appends 3
        fill(log, 2)
        assert log.verify().ok
        log.purge_before(tick())  # removes 2..4 (with the first purge's entry), keeps 5 (the newest), appends 6
        assert [e.seq for e in log.list()[0]] == [6, 5]
        assert log.verify().ok
        log.purge_before(time.time() + 3600)  # the future: still keeps the newest entry
        assert [e.seq for e in log.list()[0]] == [7, 6] and log.verify().ok

    def test_removing_the_first_entry_after_a_purge_is_detected(self, log: AuditLog, tamper: Tamper) -> None:
        fill(log, 3)
        cutoff = tick()
        fill(log, 3)
        log.purge_before(cutoff)
        tamper("DELETE FROM audit_log WHERE seq = 4")
        assert log.verify().first_bad_seq == 5

    # -- listing -----------------------------------------------------------------------------------------------
    def test_list_filters(self, log: AuditLog) -> None:
        log.append("document.uploaded", tenant_id="acme", actor=ALICE, target="d1")
        t1 = tick()
        log.append("document.deleted", tenant_id="acme", actor=ALICE, target="d1")
        log.append("auth.login", tenant_id="other", actor=BOB)
        t2 = tick()
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
        assert log.list(action="docu_ent.*")[1] == 0

    # -- concurrency -------------------------------------------------------------------------------------------
    def test_threads_append_to_one_chain(self, log: AuditLog) -> None:
        def work(n: int) -> None:
            for i in range(25):
                log.append("t", tenant_id="acme", actor=None, details={"thread": n, "i": i})

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        entries, total = log.list(limit=1000)
        assert total == 100 and sorted(e.seq for e in entries) == list(range(1, 101))
        assert log.verify().ok and log.verify().checked == 100
