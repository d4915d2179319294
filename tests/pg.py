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
from pathlib import Path

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
    name = f"t{os.getpid()}_{uuid.uuid4().hex[:12]}"  # the test process's id: see drop_leftover_schemas
    with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield schema_url(name)
    finally:
        with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def drop_leftover_schemas() -> None:
    """Schemas an interrupted earlier run left behind: those named after a process that is gone (several test
    runs share the server at once, each with its schemas in use)."""
    with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
        for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't%%'").fetchall():
            match = re.fullmatch(r"t(\d+)_[0-9a-f]+", name)
            if match and not _alive(int(match.group(1))):
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
