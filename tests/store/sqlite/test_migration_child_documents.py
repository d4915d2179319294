"""Migrations 10 and 11 on a database made before it: its documents are uploads (``parent_id`` NULL), still listed, read
and deleted as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.store.sqlite.released import OLD_UPLOAD, released_database

from ragd.store.sqlite import SqliteStore

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations

RELEASED = 9
"""Schema version of the last release before child documents (``_m009_job_queues``)."""


def test_old_documents_are_uploads_without_parent(tmp_path: Path) -> None:
    path = tmp_path / "ragd.sqlite3"
    released_database(path, RELEASED, [OLD_UPLOAD])
    store = SqliteStore(path)
    try:
        store.migrate()
        doc = store.get_document("d0")
        assert doc is not None and doc.parent_id is None and store.list_children("d0") == []
        assert store.delete_document("d0") and store.get_document("d0") is None
    finally:
        store.close()
