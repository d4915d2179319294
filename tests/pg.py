"""PostgreSQL for the tests: the server on 127.0.0.1:5432 (``scripts/system-deps.sh`` makes one present, with
pgvector and the ``ragd`` role), one database ``ragd_test``, and a fresh schema per test so tests never see each
other's rows. A test's URL carries its schema in libpq's ``options`` (``search_path``), which ragd passes through
untouched."""

from __future__ import annotations

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
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield schema_url(name)
    finally:
        with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def drop_leftover_schemas() -> None:
    """Schemas an interrupted earlier run left behind."""
    with psycopg.connect(TEST_DB_URL, autocommit=True) as conn:
        for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%%'").fetchall():
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
