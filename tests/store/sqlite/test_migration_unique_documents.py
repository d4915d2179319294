"""Migration 6 on a database made before it, holding the copies that concurrent identical uploads used to leave:
the migration succeeds, one document of each group stays (the one furthest along, then the oldest), the others go
with their text, chunks and jobs, and from then on the database itself refuses a second copy."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from ragd.errors import Conflict
from ragd.models import DocStatus
from ragd.store.sqlite import SqliteStore
from ragd.store.sqlite.schema import MIGRATIONS
from ragd.testing.store_conformance import index_chunks, make_doc

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations


def old_database(path: Path) -> None:
    """A version-5 database: three copies of the same bytes (one indexed with chunks, one indexed later, one
    failed), the same bytes in another collection, and a chain of versions of one file name."""
    conn = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:5]:
        step(conn)
    conn.execute("PRAGMA user_version = 5")

    def doc(doc_id: str, created: float, status: str, *, h: str = "same", collection: str = "default",
            filename: str | None = None, replaces: str | None = None) -> None:
        conn.execute(
            "INSERT INTO documents (id, collection, filename, content_hash, mime, size, status, replaces, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, 'text/plain', 4, ?, ?, ?, ?)",
            (doc_id, collection, filename or f"{doc_id}.txt", h, status, replaces, created, created))
        conn.execute("INSERT INTO jobs (document_id, kind, status, created_at, updated_at) "
                     "VALUES (?, 'ingest', 'done', ?, ?)", (doc_id, created, created))

    def chunk(doc_id: str, text: str) -> None:
        conn.execute("INSERT INTO doc_text (doc_id, text) VALUES (?, ?)", (doc_id, text))
        conn.execute("INSERT INTO chunks (id, document_id, ordinal, text, start, \"end\", content_hash, lex) "
                     "VALUES (?, ?, 0, ?, 0, ?, ?, ?)", (f"{doc_id}:0", doc_id, text, len(text), text, text))

    doc("failed_first", 1.0, "failed")
    doc("indexed_second", 2.0, "indexed")
    chunk("indexed_second", "kept passage")
    doc("indexed_third", 3.0, "indexed")
    chunk("indexed_third", "copy passage")
    doc("elsewhere", 4.0, "indexed", collection="other")
    doc("v1", 5.0, "indexed", h="v1", filename="policy.txt")
    doc("v2", 6.0, "pending", h="v2", filename="policy.txt", replaces="v1")
    doc("v3", 7.0, "pending", h="v3", filename="policy.txt", replaces="v2")
    conn.close()


def test_migration_keeps_one_copy_and_enforces_uniqueness(tmp_path: Path) -> None:
    path = tmp_path / "ragd.sqlite3"
    old_database(path)
    store = SqliteStore(path)
    try:
        store.migrate()  # does not fail on the copies
        docs = {d.id for d in store.list_documents(limit=100)[0]}
        assert docs == {"indexed_second", "elsewhere", "v1", "v2", "v3"}
        assert [c.text for c in store.list_chunks("indexed_second")] == ["kept passage"]
        assert store.count_chunks() == 1
        assert store.get_text("indexed_third") is None
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 5
            fts = conn.execute("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'copy'").fetchone()[0]
            assert fts == 0  # the removed copy's passage left the lexical index (and the change log says so)
            assert conn.execute("SELECT COUNT(*) FROM changes WHERE op = 'del'").fetchone()[0] == 1
        finally:
            conn.close()
        copy = dataclasses.replace(make_doc("again"), content_hash="same")
        with pytest.raises(Conflict):  # the database itself refuses a second copy now
            store.add_document(copy)
        [(dup, is_dup)] = store.submit_documents([copy])
        assert is_dup and dup.id == "indexed_second"
        # the chain of versions became one lineage: indexing the newest removes both older ones
        index_chunks(store, "v3", ["policy three"])
        assert store.get_document("v1") is None and store.get_document("v2") is None
        assert store.get_document("v3").status is DocStatus.INDEXED
    finally:
        store.close()
