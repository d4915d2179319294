"""Migration 11 of the PostgreSQL schema on a database made before it: its chunks are of unknown language (``''``),
so a query's analysis is not restricted until ``ragd reindex``; chunks committed after say theirs."""

from __future__ import annotations

import psycopg
from tests.store.postgres.released import OLD_UPLOAD, released_schema

from ragd.retrieve.analysis import present_languages
from ragd.store.backend import open_backend
from ragd.store.postgres.schema import MIGRATIONS
from ragd.testing.store_conformance_lexical import add_in_languages

RELEASED = 10
"""Schema version of the last release before chunk languages (``_m010_child_documents``)."""
OLD_CHUNK = (
    'INSERT INTO chunks (id, document_id, ordinal, text, start, "end", content_hash, lex) '
    "VALUES ('d0:0', 'd0', 0, 'Het pakket', 0, 10, 'c0', 'pakket')"
)


def test_old_chunks_are_of_unknown_language_and_lift_the_restriction(pg_url: str) -> None:
    released_schema(pg_url, RELEASED, [OLD_UPLOAD, OLD_CHUNK])
    backend = open_backend(pg_url)  # migrates
    try:
        store = backend.store
        assert store.chunk_languages() == {"": 1}
        assert [c.text for c in store.list_chunks("d0")] == ["Het pakket"]
        add_in_languages(store, "d1", ["De map"], ["nl"])
        assert store.chunk_languages() == {"": 1, "nl": 1}
        assert present_languages(store.chunk_languages()) is None  # one chunk of unknown language: no restriction
        assert store.delete_document("d0")  # what `ragd reindex` does for it: its chunks replaced
        assert present_languages(store.chunk_languages()) == {"nl": 1.0}
    finally:
        backend.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM ragd_schema").fetchone() == (len(MIGRATIONS),)
