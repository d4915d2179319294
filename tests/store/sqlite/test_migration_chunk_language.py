"""Migration 12 on a database made before it: its chunks are of unknown language (``''``), so a query's analysis is
not restricted until ``ragd reindex``; chunks committed after say theirs."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.store.sqlite.released import OLD_UPLOAD, released_database

from ragd.retrieve.analysis import present_languages
from ragd.store.sqlite import SqliteStore
from ragd.testing.store_conformance_lexical import add_in_languages

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations

RELEASED = 11
"""Schema version of the last release before chunk languages (``_m011_child_documents``)."""
OLD_CHUNK = (
    'INSERT INTO chunks (id, document_id, ordinal, text, start, "end", content_hash, lex) '
    "VALUES ('d0:0', 'd0', 0, 'Het pakket', 0, 10, 'c0', 'pakket')"
)


def test_old_chunks_are_of_unknown_language_and_lift_the_restriction(tmp_path: Path) -> None:
    path = tmp_path / "ragd.sqlite3"
    released_database(path, RELEASED, [OLD_UPLOAD, OLD_CHUNK])
    store = SqliteStore(path)
    try:
        store.migrate()
        assert store.chunk_languages() == {"": 1}
        assert [c.text for c in store.list_chunks("d0")] == ["Het pakket"]
        old = [c.seq for c in store.list_chunks("d0")]
        assert [seq for seq, _ in store.search_lexical(["pakket"], None, 10)] == old
        add_in_languages(store, "d1", ["De map"], ["nl"])
        assert store.chunk_languages() == {"": 1, "nl": 1}
        assert present_languages(store.chunk_languages()) is None  # one chunk of unknown language: no restriction
        assert store.delete_document("d0")  # what `ragd reindex` does for it: its chunks replaced
        assert present_languages(store.chunk_languages()) == {"nl": 1.0}
    finally:
        store.close()
