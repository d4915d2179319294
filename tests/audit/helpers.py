"""Tampering with an audit database behind the log's back, as someone with write access to the file would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

PROTECTING_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete", "audit_log_append_only", "audit_head_no_delete")


def raw(db_path: Path) -> sqlite3.Connection:
    """A plain connection, as someone with write access to the database file would use."""
    return sqlite3.connect(db_path, isolation_level=None)


def tamper(db_path: Path, sql: str, params: tuple = ()) -> None:
    """Run ``sql`` after dropping the triggers that protect the audit tables (what an attacker would do)."""
    conn = raw(db_path)
    try:
        for trigger in PROTECTING_TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.execute(sql, params)
    finally:
        conn.close()
