"""The SQLite audit log: the shared conformance suite (:mod:`ragd.testing.audit_conformance`), plus what is
SQLite's own: the triggers refusing SQL edits and two processes appending to one file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.audit.helpers import raw, tamper
from tests.support import REPO

from ragd.audit.sqlite import SqliteAuditLog
from ragd.store.backend import Backend, open_backend
from ragd.testing.audit_conformance import AuditLogConformance, fill

pytestmark = pytest.mark.sqlite_only  # the SQLite audit log by name, tampering with its file

class TestSqliteAuditLog(AuditLogConformance):
    @pytest.fixture
    def backend(self, db_path: Path) -> Iterator[Backend]:
        backend = open_backend(f"sqlite:///{db_path}")
        yield backend
        backend.close()

    @pytest.fixture
    def tamper(self, db_path: Path) -> Callable[..., None]:
        def run(*statements: str) -> None:
            for sql in statements:
                tamper(db_path, sql)

        return run


# -- the triggers -------------------------------------------------------------------------------------------------
def test_sql_update_and_delete_are_refused(log: SqliteAuditLog, db_path: Path) -> None:
    fill(log, 3)
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


# -- concurrency ------------------------------------------------------------------------------------------------
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
