"""Migrations 9 and 10 of the PostgreSQL schema on a database made before it: its documents are uploads (``parent_id``
NULL), still read and deleted as before."""

from __future__ import annotations

import psycopg
from tests.store.postgres.released import OLD_UPLOAD, released_schema

from ragd.store.backend import open_backend
from ragd.store.postgres.schema import MIGRATIONS

RELEASED = 8
"""Schema version of the last release before child documents (``_m008_job_queues``)."""


def test_old_documents_are_uploads_without_parent(pg_url: str) -> None:
    released_schema(pg_url, RELEASED, [OLD_UPLOAD])
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
