"""The SQLite conversation store: the shared conformance suite plus its migration."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragd.store.backend import open_backend
from ragd.store.sqlite import SqliteStore
from ragd.store.sqlite.conversations import SqliteConversationStore
from ragd.testing.conversation_conformance import ConversationStoreConformance

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations


class TestSqliteConversations(ConversationStoreConformance):
    @pytest.fixture
    def conversations(self, tmp_path: Path) -> Iterator[SqliteConversationStore]:
        store = SqliteConversationStore(tmp_path / "ragd.sqlite3")
        store.migrate()
        yield store
        store.close()


def test_shares_the_database_with_the_document_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ragd.sqlite3'}"
    docs = SqliteStore(url)
    docs.migrate()  # the document store's migration also creates the conversation tables
    backend = open_backend(url)
    c = backend.conversations.create_conversation("local", "t")
    backend.close()
    docs.close()
    with sqlite3.connect(tmp_path / "ragd.sqlite3") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"conversations", "messages", "queries", "feedback", "documents"} <= tables
        assert db.execute("SELECT id FROM conversations").fetchone()[0] == c.id
