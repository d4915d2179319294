"""Tampering with an audit database behind the log's back, as someone with write access to it would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from ragd.store.url import libpq_url

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


def pg_raw(url: str) -> psycopg.Connection:
    """A plain autocommit connection to the PostgreSQL database (and schema) of a store URL."""
    return psycopg.connect(libpq_url(url), autocommit=True)


def pg_tamper(url: str, *statements: str) -> None:
    """Run ``statements`` as a superuser with every ordinary trigger switched off for this session
    (``session_replication_role = replica``), the way a database administrator could edit the audit tables."""
    with pg_raw(url) as conn:
        conn.execute("SET session_replication_role = replica")
        for sql in statements:
            conn.execute(sql)  # type: ignore[call-overload]
