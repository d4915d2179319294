"""The PostgreSQL conversation store: the shared conformance suite, and appends from many threads at once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from ragd.store.backend import open_backend
from ragd.store.conversations import ConversationStore
from ragd.testing.conversation_conformance import ConversationStoreConformance


class TestPostgresConversations(ConversationStoreConformance):
    @pytest.fixture
    def conversations(self, pg_url: str) -> Iterator[ConversationStore]:
        backend = open_backend(pg_url)
        yield backend.conversations
        backend.close()


def test_concurrent_appends_get_distinct_ordinals_in_order(pg_url: str) -> None:
    one, two = open_backend(pg_url), open_backend(pg_url)  # two replicas on one database
    try:
        conv = one.conversations.create_conversation("alice", "t")
        stores = [one.conversations, two.conversations]

        def append(i: int) -> str:
            return stores[i % 2].add_message("alice", conv.id, "user", f"m{i}").id

        with ThreadPoolExecutor(8) as pool:
            ids = set(pool.map(append, range(40)))
        msgs = one.conversations.list_messages("alice", conv.id)
        assert {m.id for m in msgs} == ids and len(msgs) == 40
        assert one.conversations.get_conversation("alice", conv.id).message_count == 40  # type: ignore[union-attr]
    finally:
        two.close()
        one.close()
