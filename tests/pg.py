"""PostgreSQL for the tests: the server on 127.0.0.1:5432 (``scripts/system-deps.sh`` makes one present, with
pgvector and the ``ragd`` role), one database ``ragd_test``, and a fresh schema per test so tests never see each
other's rows. A test's URL carries its schema in libpq's ``options`` (``search_path``), which ragd passes through
untouched."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

SERVER = "postgresql://ragd:ragd@127.0.0.1:5432"
DATABASE = "ragd_test"
ADMIN_URL = f"{SERVER}/postgres"
TEST_DB_URL = f"{SERVER}/{DATABASE}"


def ensure_database() -> None:
    """``ragd_test`` with the pgvector extension (created once; the extension needs a superuser, as in
    production: docs/scaling.md)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")


def schema_url(schema: str) -> str:
    return f"{TEST_DB_URL}?options=-csearch_path%3D{schema}%2Cpublic"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose tables live in a new, empty schema, dropped afterwards."""
    name = f"t_{os.getpid()}_{uuid.uuid4().hex[:12]}"  # the pid: drop_leftover_schemas spares live runs
    with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield schema_url(name)
    finally:
        with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_leftover_schemas() -> None:
    """Schemas an interrupted earlier run left behind: those of test processes no longer running (several runs may
    share the database at once, e.g. ``make test`` beside a developer's pytest; each spares the others')."""
    with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
        others = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (DATABASE,)
        ).fetchone()
        in_use = bool(others and others[0])
        for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%%'").fetchall():
            owner = re.fullmatch(r"t_(\d+)_[0-9a-f]+", name)
            if (owner and _alive(int(owner.group(1)))) or (owner is None and in_use):
                continue  # a live run's (a name without a pid: only while nobody else uses the database)
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def tables_in_public() -> list[str]:
    """Tables in ``ragd_test``'s ``public`` schema: there should be none. One appears when a test's schema was
    dropped under it (the URL's search path falls back to ``public``); the run reports it (tests/conftest.py)."""
    with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        ).fetchall()
    return [name for (name,) in rows]
