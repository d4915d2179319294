"""Migration ``_m005_audit`` of the PostgreSQL schema: the hash-chained audit log (:mod:`ragd.audit.postgres`).

The same tables and the same protections as SQLite's ``_m004_audit`` (:mod:`ragd.store.sqlite.schema`), the
triggers written as plpgsql functions:

* ``audit_log``: ``UPDATE`` is always refused; ``DELETE`` only of rows a purge guard row covers (an oldest-first
  prefix, inside the retention transaction); ``INSERT`` only of the next ``seq`` after the signed head and only
  while no purge guard exists; ``TRUNCATE`` (which fires no row trigger) is refused outright.
* ``audit_head``: the one row naming the newest entry; ``DELETE`` and ``TRUNCATE`` are refused.
* ``audit_purge_guard``: a guard may never cover the newest entry (retention keeps it).

The functions pin their ``search_path`` to the schema they were created in (``SET search_path FROM CURRENT``), so
a session with another search path cannot point them at look-alike tables. A superuser can still switch triggers
off (``SET session_replication_role = replica``) and edit rows: ``ragd audit verify`` is what catches that.
"""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

_FUNCTIONS = """
CREATE FUNCTION ragd_audit_log_guard() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit entries are immutable';
    ELSIF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'audit entries can only be removed by retention (ragd purge)';
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM audit_purge_guard WHERE OLD.seq < before_seq) THEN
            RAISE EXCEPTION 'audit entries can only be removed by retention (ragd purge)';
        END IF;
        RETURN OLD;
    END IF;
    -- INSERT
    IF EXISTS (SELECT 1 FROM audit_purge_guard)
       OR NEW.seq <> COALESCE((SELECT seq FROM audit_head WHERE id = 1), 0) + 1 THEN
        RAISE EXCEPTION 'audit entries are appended at the end of the chain only';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION ragd_audit_head_guard() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    RAISE EXCEPTION 'the audit chain head cannot be deleted';
END $$;

CREATE FUNCTION ragd_audit_purge_guard_check() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT
AS $$
BEGIN
    IF NEW.before_seq > (SELECT MAX(seq) FROM audit_log) THEN
        RAISE EXCEPTION 'retention always keeps the newest audit entry';
    END IF;
    RETURN NEW;
END $$;
"""

_STATEMENTS = [
    """CREATE TABLE audit_log (
        seq BIGINT PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        tenant_id TEXT NOT NULL,
        actor_id TEXT,
        actor_email TEXT,
        actor_role TEXT,
        actor_key_id TEXT,
        action TEXT NOT NULL,
        target TEXT,
        details TEXT NOT NULL DEFAULT '{}',
        decision TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        signature TEXT NOT NULL,
        key_id TEXT NOT NULL
    )""",
    "CREATE INDEX audit_log_tenant ON audit_log (tenant_id, seq)",
    # text_pattern_ops: the index serves both ``action = x`` and the prefix filter ``action LIKE 'document.%'``
    "CREATE INDEX audit_log_action ON audit_log (action text_pattern_ops, seq)",
    "CREATE INDEX audit_log_ts ON audit_log (ts)",
    """CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        signature TEXT NOT NULL,
        key_id TEXT NOT NULL
    )""",
    "CREATE TABLE audit_purge_guard (id INTEGER PRIMARY KEY CHECK (id = 1), before_seq BIGINT NOT NULL)",
    _FUNCTIONS,
    """CREATE TRIGGER audit_log_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION ragd_audit_log_guard()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION ragd_audit_log_guard()""",
    """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
        FOR EACH ROW EXECUTE FUNCTION ragd_audit_head_guard()""",
    """CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
        FOR EACH STATEMENT EXECUTE FUNCTION ragd_audit_head_guard()""",
    """CREATE TRIGGER audit_purge_guard_keeps_newest BEFORE INSERT OR UPDATE ON audit_purge_guard
        FOR EACH ROW EXECUTE FUNCTION ragd_audit_purge_guard_check()""",
]


def _m005_audit(conn: Conn) -> None:
    """The hash-chained audit log: entries can be neither updated nor deleted, except an oldest-first prefix by
    retention, which must cover them with a purge guard row inside its transaction."""
    for sql in _STATEMENTS:
        conn.execute(sql)  # type: ignore[call-overload]
