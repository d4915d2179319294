"""A SQLite database as an older release left it: the first ``version`` migrations applied, that version recorded,
then the given rows written with that release's schema (the starting point of every migration test)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ragd.store.sqlite.schema import MIGRATIONS

OLD_UPLOAD = (
    "INSERT INTO documents (id, collection, filename, content_hash, mime, size, status, created_at, updated_at, "
    "lineage) VALUES ('d0', 'default', 'a.txt', 'h0', 'text/plain', 4, 'indexed', 1.0, 1.0, 'd0')"
)
"""One indexed upload, ``d0``, in the columns every release since lineages has."""


def released_database(path: Path, version: int, statements: Iterable[str] = ()) -> None:
    """Create ``path`` at schema ``version`` holding what ``statements`` write."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for step in MIGRATIONS[:version]:
            step(conn)
        conn.execute(f"PRAGMA user_version = {version}")
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()
