"""The PostgreSQL audit log: the shared conformance suite (:mod:`ragd.testing.audit_conformance`) on a real
server, plus what is PostgreSQL's own: the plpgsql triggers refusing SQL edits (TRUNCATE included), a superuser
who switches the triggers off being caught by ``verify``, and two replicas appending to one chain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from tests.audit.helpers import pg_raw, pg_tamper

from ragd.audit.base import AuditLog, VerifyResult
from ragd.audit.postgres import PostgresAuditLog
from ragd.audit.signing import AuditSigner, generate_seed_b64
from ragd.store.backend import Backend, open_backend
from ragd.testing.audit_conformance import ALICE, AuditLogConformance, fill, tick

Refused = psycopg.errors.RaiseException


class TestPostgresAuditLog(AuditLogConformance):
    @pytest.fixture
    def backend(self, pg_url: str) -> Iterator[Backend]:
        backend = open_backend(pg_url)
        yield backend
        backend.close()

    @pytest.fixture
    def tamper(self, pg_url: str) -> Callable[..., None]:
        return lambda *statements: pg_tamper(pg_url, *statements)


@pytest.fixture
def signer() -> AuditSigner:
    return AuditSigner.from_seed_b64(generate_seed_b64())


@pytest.fixture
def backend(pg_url: str) -> Iterator[Backend]:
    backend = open_backend(pg_url)
    yield backend
    backend.close()


@pytest.fixture
def log(backend: Backend, signer: AuditSigner) -> AuditLog:
    audit = backend.audit_log(signer)
    assert isinstance(audit, PostgresAuditLog)
    return audit


_INSERT = (
    "INSERT INTO audit_log (seq, ts, tenant_id, action, prev_hash, hash, signature, key_id) "
    "VALUES ({seq}, 0, 'acme', 'x', 'p', 'h', 's', 'k')"
)


# -- the triggers -------------------------------------------------------------------------------------------------
def test_sql_update_delete_and_truncate_are_refused(log: AuditLog, pg_url: str) -> None:
    fill(log, 3)
    with pg_raw(pg_url) as conn:
        for sql, message in (
            ("UPDATE audit_log SET action = 'nothing' WHERE seq = 2", "immutable"),
            ("DELETE FROM audit_log WHERE seq = 1", "only be removed by retention"),
            ("DELETE FROM audit_log", "only be removed by retention"),
            ("TRUNCATE audit_log", "only be removed by retention"),
            ("DELETE FROM audit_head", "cannot be deleted"),
            ("TRUNCATE audit_head", "cannot be deleted"),
            (_INSERT.format(seq=2), "appended at the end"),  # no filling of gaps or rewinds
            (_INSERT.format(seq=9), "appended at the end"),  # no jumping ahead either
            ("INSERT INTO audit_purge_guard (id, before_seq) VALUES (1, 4)", "keeps the newest"),
        ):
            with pytest.raises(Refused, match=message):
                conn.execute(sql)  # type: ignore[call-overload]
        # a guard allows only an oldest-first prefix, and nothing may be appended while it exists
        with conn.transaction(force_rollback=True):
            conn.execute("INSERT INTO audit_purge_guard (id, before_seq) VALUES (1, 2)")
            with pytest.raises(Refused, match="only be removed by retention"), conn.transaction():
                conn.execute("DELETE FROM audit_log WHERE seq = 3")
            with pytest.raises(Refused, match="appended at the end"), conn.transaction():
                conn.execute(_INSERT.format(seq=4))
            with pytest.raises(Refused, match="keeps the newest"), conn.transaction():
                conn.execute("UPDATE audit_purge_guard SET before_seq = 4")
            assert conn.execute("DELETE FROM audit_log WHERE seq = 1").rowcount == 1
    assert log.verify().ok and log.verify().checked == 3


def test_a_superuser_with_triggers_off_is_caught_by_verify(log: AuditLog, pg_url: str) -> None:
    fill(log, 5)
    pg_tamper(pg_url, "UPDATE audit_log SET target = 'doc-9', actor_email = 'mallory@example.com' WHERE seq = 3")
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 3 and result.checked == 2
    assert "altered" in (result.reason or "")
    # the triggers were off for that session only: the log's own connections are still guarded
    with pg_raw(pg_url) as conn, pytest.raises(Refused, match="immutable"):
        conn.execute("UPDATE audit_log SET target = 'doc-3' WHERE seq = 3")


def test_verify_reads_one_snapshot_while_others_append(log: AuditLog, backend: Backend) -> None:
    """Appends committed while ``verify`` streams the entries neither block it nor show up as a broken head."""
    fill(log, 3)
    with backend.unit_of_work():  # a transaction of its own, holding the chain's lock until the end
        log.append("auth.login", tenant_id="acme", actor=ALICE)
        results: list[VerifyResult] = []
        other = threading.Thread(target=lambda: results.append(log.verify()))
        other.start()
        other.join(60)
    assert not other.is_alive() and results[0].ok and results[0].checked == 3  # the uncommitted entry unseen
    assert log.verify().checked == 4


# -- replicas -----------------------------------------------------------------------------------------------------
def _replicas(pg_url: str, n: int) -> list[Backend]:
    """``n`` backends on the same database, each with a pool of its own, as ``n`` API replicas would have (the
    process keeps one pool per URL, so each replica's URL differs in its application name only)."""
    return [open_backend(f"{pg_url}&application_name=ragd-replica-{i}") for i in range(n)]


def _run_all(targets: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # a failed append must fail the test, not vanish with its thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads) and errors == []


def test_two_replicas_append_to_one_chain(pg_url: str, signer: AuditSigner) -> None:
    replicas = _replicas(pg_url, 2)
    try:
        logs = [r.audit_log(signer) for r in replicas]
        assert logs[0]._db._pool is not logs[1]._db._pool  # type: ignore[attr-defined]

        def writer(log: AuditLog, name: str) -> Callable[[], None]:
            def run() -> None:
                for i in range(20):
                    log.append("replica.test", tenant_id="acme", actor=None, details={"w": name, "i": i})

            return run

        _run_all([writer(log, f"{r}-{t}") for r, log in enumerate(logs) for t in range(3)])
        entries, total = logs[1].list(limit=1000)
        assert total == 120 and sorted(e.seq for e in entries) == list(range(1, 121))
        assert len({e.details["w"] for e in entries}) == 6
        for log in logs:
            result = log.verify()
            assert result.ok and result.checked == 120
    finally:
        for r in replicas:
            r.close()


def test_purges_and_appends_on_two_replicas_keep_the_chain_verifiable(pg_url: str, signer: AuditSigner) -> None:
    replicas = _replicas(pg_url, 2)
    try:
        a, b = (r.audit_log(signer) for r in replicas)
        fill(a, 5)
        cutoff = tick()

        def appender() -> None:
            for i in range(30):
                a.append("replica.test", tenant_id="acme", actor=None, details={"i": i})

        def purger() -> None:
            for _ in range(3):
                b.purge_before(cutoff)
                b.purge_before(time.time())

        _run_all([appender, purger])
        entries, _ = b.list(limit=1000)
        seqs = sorted(e.seq for e in entries)
        assert seqs == list(range(seqs[0], seqs[-1] + 1)) and seqs[0] > 1  # an oldest-first prefix went
        assert a.verify().ok and b.verify().ok
    finally:
        for r in replicas:
            r.close()
