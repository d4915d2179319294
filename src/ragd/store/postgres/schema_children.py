"""Migration 10 of the PostgreSQL schema: documents found inside other documents (e-mail attachments)."""

from __future__ import annotations

from typing import Any

import psycopg


def _m010_child_documents(conn: psycopg.Connection[Any]) -> None:
    """Documents gain ``parent_id``: the document an attachment was found in (``NULL`` for an upload). Children
    are deleted with their parent by the store, found by a partial index."""
    conn.execute("ALTER TABLE documents ADD COLUMN parent_id TEXT")
    conn.execute("CREATE INDEX documents_parent ON documents (parent_id) WHERE parent_id IS NOT NULL")
