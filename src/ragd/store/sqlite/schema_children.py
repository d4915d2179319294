"""Migration 11 of the SQLite schema: documents found inside other documents (e-mail attachments)."""

from __future__ import annotations

import sqlite3


def _m011_child_documents(conn: sqlite3.Connection) -> None:
    """Documents gain ``parent_id``: the document an attachment was found in (``NULL`` for an upload). Children
    are deleted with their parent by the store (a recursive delete, so a chunk's ``del`` change is logged), found
    by a partial index."""
    conn.execute("ALTER TABLE documents ADD COLUMN parent_id TEXT")
    conn.execute("CREATE INDEX documents_parent ON documents (parent_id) WHERE parent_id IS NOT NULL")
