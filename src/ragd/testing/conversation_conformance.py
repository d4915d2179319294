"""The conformance suite every :class:`~ragd.store.conversations.ConversationStore` adapter must pass.

Subclass :class:`ConversationStoreConformance` in the adapter's tests and provide a ``conversations`` fixture
yielding a fresh, migrated, empty store::

    class TestSqliteConversations(ConversationStoreConformance):
        @pytest.fixture
        def conversations(self, tmp_path):
            store = SqliteConversationStore(tmp_path / "ragd.sqlite3")
            store.migrate()
            yield store
            store.close()
"""

from __future__ import annotations

import threading
import time

import pytest

from ragd.errors import ConversationNotFound, QueryNotFound
from ragd.store.conversations import ConversationStore


def _tick() -> float:
    """Now, then wait until the clock has moved past it (so what is created next is strictly newer)."""
    now = time.time()
    while time.time() <= now:
        time.sleep(0.001)
    return time.time()


CITATION = {"marker": 1, "document_id": "d1", "filename": "a.pdf", "page": 3, "text": "x", "start": 0, "end": 1}


class ConversationStoreConformance:
    def test_create_get_list(self, conversations: ConversationStore) -> None:
        a = conversations.create_conversation("alice", "first")
        b = conversations.create_conversation("alice", "second")
        conversations.create_conversation("bob", "bob's")
        assert conversations.get_conversation("alice", a.id) == a
        page, total = conversations.list_conversations("alice")
        assert total == 2 and [c.id for c in page] == [b.id, a.id]  # newest activity first
        conversations.add_message("alice", a.id, "user", "hello")
        page, _ = conversations.list_conversations("alice")
        assert [c.id for c in page] == [a.id, b.id] and page[0].message_count == 1
        page, total = conversations.list_conversations("alice", limit=1, offset=1)
        assert total == 2 and [c.id for c in page] == [b.id]

    def test_users_are_isolated(self, conversations: ConversationStore) -> None:
        a = conversations.create_conversation("alice", "mine")
        assert conversations.get_conversation("bob", a.id) is None
        assert conversations.list_conversations("bob") == ([], 0)
        with pytest.raises(ConversationNotFound):
            conversations.add_message("bob", a.id, "user", "intrusion")
        with pytest.raises(ConversationNotFound):
            conversations.list_messages("bob", a.id)
        assert conversations.delete_conversation("bob", a.id) is False
        assert conversations.get_conversation("alice", a.id) is not None

    def test_ensure_conversation_creates_once(self, conversations: ConversationStore) -> None:
        made = conversations.ensure_conversation("alice", "c_client-1", "first question")
        assert made is not None and made.id == "c_client-1" and made.title == "first question"
        assert made.user_id == "alice" and made.message_count == 0
        conversations.add_message("alice", made.id, "user", "first question")
        again = conversations.ensure_conversation("alice", "c_client-1", "another title")
        assert again is not None and again.title == "first question" and again.message_count == 1
        page, total = conversations.list_conversations("alice")
        assert total == 1 and page[0].id == "c_client-1"

    def test_ensure_conversation_never_reaches_another_users(self, conversations: ConversationStore) -> None:
        alice = conversations.ensure_conversation("alice", "c_shared", "alice's")
        assert alice is not None
        conversations.add_message("alice", alice.id, "user", "secret")
        assert conversations.ensure_conversation("bob", "c_shared", "bob's") is None  # as if it did not exist
        assert conversations.list_conversations("bob") == ([], 0)
        with pytest.raises(ConversationNotFound):
            conversations.list_messages("bob", "c_shared")
        kept = conversations.get_conversation("alice", "c_shared")
        assert kept is not None and kept.title == "alice's" and kept.message_count == 1

    def test_ensure_conversation_concurrent_first_use(self, conversations: ConversationStore) -> None:
        start = threading.Barrier(4)
        got: list[str | None] = []

        def first_use() -> None:
            start.wait()
            conv = conversations.ensure_conversation("alice", "c_race", "q")
            got.append(conv.id if conv else None)

        threads = [threading.Thread(target=first_use) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert got == ["c_race"] * 4
        assert conversations.list_conversations("alice")[1] == 1

    def test_messages_round_trip_in_order(self, conversations: ConversationStore) -> None:
        a = conversations.create_conversation("alice", "t")
        conversations.add_message("alice", a.id, "user", "question?")
        m = conversations.add_message(
            "alice", a.id, "assistant", "answer [1]", citations=[CITATION], query="question", found=True
        )
        msgs = conversations.list_messages("alice", a.id)
        assert [(x.role, x.content) for x in msgs] == [("user", "question?"), ("assistant", "answer [1]")]
        assert msgs[1] == m and msgs[1].citations == [CITATION] and msgs[1].found is True
        assert msgs[0].found is None and msgs[0].citations == []

    def test_delete_removes_messages(self, conversations: ConversationStore) -> None:
        a = conversations.create_conversation("alice", "t")
        conversations.add_message("alice", a.id, "user", "q")
        assert conversations.delete_conversation("alice", a.id) is True
        assert conversations.get_conversation("alice", a.id) is None
        with pytest.raises(ConversationNotFound):
            conversations.list_messages("alice", a.id)
        assert conversations.delete_conversation("alice", a.id) is False

    def test_unknown_conversation(self, conversations: ConversationStore) -> None:
        with pytest.raises(ConversationNotFound):
            conversations.add_message("alice", "nope", "user", "q")

    def test_queries_and_feedback(self, conversations: ConversationStore) -> None:
        q = conversations.record_query("alice", "what?", "that [1]", True)
        assert conversations.get_query("alice", q.id) == q
        assert conversations.get_query("bob", q.id) is None
        conv = conversations.create_conversation("alice", "t")
        m = conversations.add_message("alice", conv.id, "assistant", "a")
        f1 = conversations.add_feedback("alice", 1, "good", query_id=q.id)
        f2 = conversations.add_feedback("alice", -1, None, message_id=m.id)
        assert f1.query_id == q.id and f1.rating == 1 and f1.comment == "good"
        assert f2.message_id == m.id and f2.rating == -1
        page, total = conversations.list_feedback()
        assert total == 2 and [f.id for f in page] == [f2.id, f1.id]
        assert conversations.list_feedback(limit=1, offset=1)[0][0].id == f1.id

    def test_feedback_validation(self, conversations: ConversationStore) -> None:
        q = conversations.record_query("alice", "what?", None, False)
        with pytest.raises(QueryNotFound):
            conversations.add_feedback("bob", 1, query_id=q.id)  # not bob's
        with pytest.raises(QueryNotFound):
            conversations.add_feedback("alice", 1, message_id="nope")
        with pytest.raises(ValueError):
            conversations.add_feedback("alice", 2, query_id=q.id)
        with pytest.raises(ValueError):
            conversations.add_feedback("alice", 1)
        with pytest.raises(ValueError):
            conversations.add_feedback("alice", 1, query_id=q.id, message_id="m")
        assert conversations.list_feedback() == ([], 0)

    def test_purge_before(self, conversations: ConversationStore) -> None:
        old = conversations.create_conversation("alice", "old")
        m_old = conversations.add_message("alice", old.id, "assistant", "a")
        q_old = conversations.record_query("bob", "q?", "a", True)
        conversations.add_feedback("alice", 1, message_id=m_old.id)
        conversations.add_feedback("bob", -1, query_id=q_old.id)
        cutoff = _tick()
        new = conversations.create_conversation("alice", "new")
        conversations.add_message("alice", new.id, "user", "q")
        q_new = conversations.record_query("bob", "q2?", None, False)
        f_new = conversations.add_feedback("bob", 1, query_id=q_new.id)
        assert conversations.purge_before(cutoff, scope="conversations") == 1
        assert conversations.get_conversation("alice", old.id) is None
        assert conversations.get_conversation("alice", new.id) is not None
        assert conversations.get_query("bob", q_old.id) is not None
        assert conversations.list_feedback()[1] == 2  # the feedback on the old message went with it
        assert conversations.purge_before(cutoff, scope="queries") == 1
        assert conversations.get_query("bob", q_old.id) is None and conversations.get_query("bob", q_new.id)
        assert conversations.list_feedback() == ([f_new], 1)
        assert conversations.purge_before(cutoff) == 0
        assert conversations.purge_before(time.time() + 1) == 2  # "all": one conversation + one query

    def test_migrate_is_idempotent(self, conversations: ConversationStore) -> None:
        a = conversations.create_conversation("alice", "t")
        conversations.migrate()
        assert conversations.get_conversation("alice", a.id) == a
