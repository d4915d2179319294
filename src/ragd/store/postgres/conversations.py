"""The PostgreSQL adapter of :class:`~ragd.store.conversations.ConversationStore` (tables of migration
``_m004_conversations``, :mod:`ragd.store.postgres.schema_identities`).

Appending a message first updates its conversation's row (``UPDATE … WHERE id AND user_id RETURNING``): that one
statement checks ownership, moves ``updated_at`` and takes the row lock that serialises appends to the same
conversation across threads and replicas, so ``MAX(ordinal) + 1`` read after it is never handed out twice.
Conversations with the same ``updated_at`` are ordered by their ``seq`` (SQLite: ``rowid``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from ragd.errors import ConversationNotFound, QueryNotFound
from ragd.store.conversations import Conversation, Feedback, Message, PurgeScope, QueryRecord, Role
from ragd.store.postgres import schema
from ragd.store.postgres.connection import Database

_CONV = (
    "SELECT c.id, c.user_id, c.title, c.created_at, c.updated_at, "
    "(SELECT COUNT(*) FROM messages AS m WHERE m.conversation_id = c.id) FROM conversations AS c"
)
_MSG = "SELECT id, conversation_id, role, content, created_at, citations, query, found FROM messages"
_FEEDBACK = "SELECT id, user_id, rating, comment, created_at, query_id, message_id FROM feedback"


def _new_id() -> str:
    return uuid.uuid4().hex


def _conversation(row: Sequence[Any]) -> Conversation:
    return Conversation(row[0], row[1], row[2], row[3], row[4], int(row[5]))


def _message(row: Sequence[Any]) -> Message:
    return Message(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], row[7])


def _feedback(row: Sequence[Any]) -> Feedback:
    return Feedback(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6])


class PostgresConversationStore:
    def __init__(self, url: str) -> None:
        self._db = Database(url)

    def migrate(self) -> None:
        self._db.migrate(schema.migrate)

    def close(self) -> None:
        self._db.close()

    # -- conversations ------------------------------------------------------------------------------------------
    def create_conversation(self, user_id: str, title: str) -> Conversation:
        now = time.time()
        conv = Conversation(_new_id(), user_id, title[:200], now, now, 0)
        self._db.conn().execute(
            "INSERT INTO conversations (id, user_id, title, created_at, updated_at) VALUES (%s, %s, %s, %s, %s)",
            (conv.id, user_id, conv.title, now, now),
        )
        return conv

    def ensure_conversation(self, user_id: str, conversation_id: str, title: str) -> Conversation | None:
        now = time.time()
        with self._db.write() as c:
            c.execute(
                "INSERT INTO conversations (id, user_id, title, created_at, updated_at) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING", (conversation_id, user_id, title[:200], now, now),
            )
            row = c.execute(f"{_CONV} WHERE c.id = %s AND c.user_id = %s", (conversation_id, user_id)).fetchone()
        return _conversation(row) if row else None

    def get_conversation(self, user_id: str, conversation_id: str) -> Conversation | None:
        row = self._db.conn().execute(
            f"{_CONV} WHERE c.id = %s AND c.user_id = %s", (conversation_id, user_id)
        ).fetchone()
        return _conversation(row) if row else None

    def list_conversations(
        self, user_id: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[Conversation], int]:
        with self._db.read() as c:
            total = c.execute("SELECT COUNT(*) FROM conversations WHERE user_id = %s",
                              (user_id,)).fetchone()[0]  # type: ignore[index]
            rows = c.execute(
                f"{_CONV} WHERE c.user_id = %s ORDER BY c.updated_at DESC, c.seq DESC LIMIT %s OFFSET %s",
                (user_id, limit, offset),
            ).fetchall()
        return [_conversation(r) for r in rows], int(total)

    def delete_conversation(self, user_id: str, conversation_id: str) -> bool:
        rows = self._db.conn().execute(
            "DELETE FROM conversations WHERE id = %s AND user_id = %s", (conversation_id, user_id))
        return rows.rowcount > 0

    def add_message(
        self,
        user_id: str,
        conversation_id: str,
        role: Role,
        content: str,
        *,
        citations: list[dict[str, Any]] | None = None,
        query: str | None = None,
        found: bool | None = None,
    ) -> Message:
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"unknown role {role!r}")
        now = time.time()
        msg = Message(_new_id(), conversation_id, role, content, now, list(citations or []), query, found)
        with self._db.write() as c:
            # ownership check, activity time and the row lock that serialises appends, in one statement
            owned = c.execute("UPDATE conversations SET updated_at = %s WHERE id = %s AND user_id = %s RETURNING id",
                              (now, conversation_id, user_id)).fetchone()
            if owned is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            c.execute(
                "INSERT INTO messages (id, conversation_id, ordinal, role, content, citations, query, found, "
                "created_at) SELECT %s, %s, COALESCE(MAX(ordinal), 0) + 1, %s, %s, %s, %s, %s, %s FROM messages "
                "WHERE conversation_id = %s",
                (msg.id, conversation_id, role, content, json.dumps(msg.citations, ensure_ascii=False), query,
                 None if found is None else bool(found), now, conversation_id),
            )
        return msg

    def list_messages(self, user_id: str, conversation_id: str) -> list[Message]:
        with self._db.read() as c:
            if c.execute("SELECT 1 FROM conversations WHERE id = %s AND user_id = %s",
                         (conversation_id, user_id)).fetchone() is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            rows = c.execute(f"{_MSG} WHERE conversation_id = %s ORDER BY ordinal", (conversation_id,)).fetchall()
        return [_message(r) for r in rows]

    # -- answered questions and feedback -----------------------------------------------------------------------
    def record_query(self, user_id: str, query: str, answer: str | None, found: bool | None) -> QueryRecord:
        rec = QueryRecord(_new_id(), user_id, query, answer, found, time.time())
        self._db.conn().execute(
            "INSERT INTO queries (id, user_id, query, answer, found, created_at) VALUES (%s, %s, %s, %s, %s, %s)",
            (rec.id, user_id, query, answer, None if found is None else bool(found), rec.created_at),
        )
        return rec

    def get_query(self, user_id: str, query_id: str) -> QueryRecord | None:
        row = self._db.conn().execute(
            "SELECT id, user_id, query, answer, found, created_at FROM queries WHERE id = %s AND user_id = %s",
            (query_id, user_id),
        ).fetchone()
        return QueryRecord(row[0], row[1], row[2], row[3], row[4], row[5]) if row else None

    def add_feedback(
        self,
        user_id: str,
        rating: int,
        comment: str | None = None,
        *,
        query_id: str | None = None,
        message_id: str | None = None,
    ) -> Feedback:
        if rating not in (1, -1):
            raise ValueError("rating must be 1 or -1")
        if (query_id is None) == (message_id is None):
            raise ValueError("give exactly one of query_id and message_id")
        now = time.time()
        if query_id is not None:
            owned = "SELECT 1 FROM queries WHERE id = %s AND user_id = %s FOR KEY SHARE"
        else:
            owned = ("SELECT 1 FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id "
                     "WHERE m.id = %s AND c.user_id = %s FOR KEY SHARE OF m")
        # one statement: what is rated must exist and be the user's when the row is written, and stays locked
        # until it is (a concurrent purge_before waits, then deletes this rating with it)
        row = self._db.conn().execute(
            "INSERT INTO feedback (user_id, query_id, message_id, rating, comment, created_at) "
            f"SELECT %s, %s, %s, %s, %s, %s WHERE EXISTS ({owned}) RETURNING id",
            (user_id, query_id, message_id, rating, comment, now, query_id or message_id, user_id),
        ).fetchone()
        if row is None:
            raise QueryNotFound(f"no {'query' if query_id else 'message'} {query_id or message_id!r}")
        return Feedback(int(row[0]), user_id, rating, comment, now, query_id, message_id)

    def list_feedback(
        self, *, limit: int = 100, offset: int = 0, user_ids: Sequence[str] | None = None
    ) -> tuple[list[Feedback], int]:
        where, args = ("", []) if user_ids is None else ("WHERE user_id = ANY(%s)", [list(user_ids)])
        with self._db.read() as c:
            total = c.execute(f"SELECT COUNT(*) FROM feedback {where}", args).fetchone()[0]  # type: ignore[index]
            rows = c.execute(f"{_FEEDBACK} {where} ORDER BY id DESC LIMIT %s OFFSET %s",
                             [*args, limit, offset]).fetchall()
        return [_feedback(r) for r in rows], int(total)

    # -- retention ---------------------------------------------------------------------------------------------
    def purge_before(self, ts: float, *, scope: PurgeScope = "all") -> int:
        if scope not in ("conversations", "queries", "all"):
            raise ValueError(f"unknown purge scope {scope!r}")
        n = 0
        with self._db.write() as c:
            # What goes is locked or deleted first, its feedback after: a rating written meanwhile holds a lock
            # on what it rates (add_feedback), so it is either committed before and deleted here, or refused.
            if scope in ("conversations", "all"):
                convs = [r[0] for r in c.execute(
                    "SELECT id FROM conversations WHERE updated_at < %s FOR UPDATE", (ts,)).fetchall()]
                msgs = [r[0] for r in c.execute(
                    "DELETE FROM messages WHERE conversation_id = ANY(%s) RETURNING id", (convs,)).fetchall()]
                c.execute("DELETE FROM feedback WHERE message_id = ANY(%s)", (msgs,))
                n += c.execute("DELETE FROM conversations WHERE id = ANY(%s)", (convs,)).rowcount
            if scope in ("queries", "all"):
                queries = [r[0] for r in c.execute(
                    "DELETE FROM queries WHERE created_at < %s RETURNING id", (ts,)).fetchall()]
                c.execute("DELETE FROM feedback WHERE query_id = ANY(%s)", (queries,))
                n += len(queries)
        return n
