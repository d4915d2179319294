"""Migrations 9 and 10 of the PostgreSQL schema on a database made before it: its documents are uploads (``parent_id``
NULL), still read and deleted as before."""

from __future__ import annotations

import psycopg

from ragd.store.backend import open_backend
from ragd.store.postgres.schema import MIGRATIONS

RELEASED = 8
"""Schema version of the last release before child documents (``_m008_job_queues``)."""


def test_old_documents_are_uploads_without_parent(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn, conn.transaction():
        conn.execute("CREATE TABLE ragd_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO ragd_schema (version) VALUES (%s)", (RELEASED,))
        for step in MIGRATIONS[:RELEASED]:
            step(conn)
        conn.execute(
            "INSERT INTO documents (id, collection, filename, content_hash, mime, size, status, created_at, "
            "updated_at, lineage) VALUES ('d0', 'default', 'a.txt', 'h0', 'text/plain', 4, 'indexed', 1.0, 1.0, 'd0')")
    backend = open_backend(pg_url)  # migrates
    try:
        store = backend.store
        doc = store.get_document("d0")
        assert doc is not None and doc.parent_id is None and store.list_children("d0") == []
        assert store.delete_document("d0") and store.get_document("d0") is None
    finally:
        backend.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM ragd_schema").fetchone() == (len(MIGRATIONS),)
