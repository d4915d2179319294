"""A PostgreSQL schema as an older release left it: the first ``version`` migrations applied, that version recorded,
then the given rows written with that release's schema (the starting point of every migration test)."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from ragd.store.postgres.schema import MIGRATIONS

OLD_UPLOAD = (
    "INSERT INTO documents (id, collection, filename, content_hash, mime, size, status, created_at, updated_at, "
    "lineage) VALUES ('d0', 'default', 'a.txt', 'h0', 'text/plain', 4, 'indexed', 1.0, 1.0, 'd0')"
)
"""One indexed upload, ``d0``, in the columns every release has."""


def released_schema(url: str, version: int, statements: Iterable[str] = ()) -> None:
    """Create the test schema of ``url`` at ``version`` holding what ``statements`` write, in one transaction."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("CREATE TABLE ragd_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO ragd_schema (version) VALUES (%s)", (version,))
        for step in MIGRATIONS[:version]:
            step(conn)
        for statement in statements:
            conn.execute(statement)
