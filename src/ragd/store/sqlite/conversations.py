"""The SQLite adapter of :class:`~ragd.store.conversations.ConversationStore`.

Its tables (``conversations``, ``messages``, ``queries``, ``feedback``) live in the same database file as the
documents, created by migration ``_m002_conversations`` of :mod:`ragd.store.sqlite.schema`. It opens its own
per-thread connections (:class:`~ragd.store.sqlite.connection.Database`); WAL lets them work beside the store's.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragd.errors import ConversationNotFound, QueryNotFound
from ragd.store.conversations import Conversation, Feedback, Message, PurgeScope, QueryRecord, Role
from ragd.store.sqlite import schema
from ragd.store.sqlite.connection import Database
from ragd.store.url import sqlite_path

_CONV = (
    "SELECT c.id, c.user_id, c.title, c.created_at, c.updated_at, "
    "(SELECT COUNT(*) FROM messages AS m WHERE m.conversation_id = c.id) FROM conversations AS c"
)
_MSG = "SELECT id, conversation_id, role, content, created_at, citations, query, found FROM messages"
_FEEDBACK = "SELECT id, user_id, rating, comment, created_at, query_id, message_id FROM feedback"


def _new_id() -> str:
    return uuid.uuid4().hex


def _bool(v: Any) -> bool | None:
    return None if v is None else bool(v)


def _conversation(row: Sequence[Any]) -> Conversation:
    return Conversation(row[0], row[1], row[2], row[3], row[4], row[5])


def _message(row: Sequence[Any]) -> Message:
    return Message(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6], _bool(row[7]))


def _feedback(row: Sequence[Any]) -> Feedback:
    return Feedback(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


class SqliteConversationStore:
    def __init__(self, url_or_path: str | Path) -> None:
        self.path = sqlite_path(url_or_path)
        self._db = Database(self.path)

    def migrate(self) -> None:
        self._db.migrate(schema.migrate)

    def close(self) -> None:
        self._db.close()

    # -- conversations ------------------------------------------------------------------------------------------
    def create_conversation(self, user_id: str, title: str) -> Conversation:
        now = time.time()
        conv = Conversation(_new_id(), user_id, title[:200], now, now, 0)
        with self._db.write() as c:
            c.execute(
                "INSERT INTO conversations (id, user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (conv.id, user_id, conv.title, now, now),
            )
        return conv

    def ensure_conversation(self, user_id: str, conversation_id: str, title: str) -> Conversation | None:
        now = time.time()
        with self._db.write() as c:
            c.execute(
                "INSERT INTO conversations (id, user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING", (conversation_id, user_id, title[:200], now, now),
            )
            row = c.execute(f"{_CONV} WHERE c.id = ? AND c.user_id = ?", (conversation_id, user_id)).fetchone()
        return _conversation(row) if row else None

    def get_conversation(self, user_id: str, conversation_id: str) -> Conversation | None:
        row = self._db.conn().execute(
            f"{_CONV} WHERE c.id = ? AND c.user_id = ?", (conversation_id, user_id)
        ).fetchone()
        return _conversation(row) if row else None

    def list_conversations(
        self, user_id: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[Conversation], int]:
        with self._db.read() as c:
            total = c.execute("SELECT COUNT(*) FROM conversations WHERE user_id = ?", (user_id,)).fetchone()[0]
            rows = c.execute(
                f"{_CONV} WHERE c.user_id = ? ORDER BY c.updated_at DESC, c.rowid DESC LIMIT ? OFFSET ?",
                (user_id, limit, offset),
            ).fetchall()
        return [_conversation(r) for r in rows], int(total)

    def delete_conversation(self, user_id: str, conversation_id: str) -> bool:
        with self._db.write() as c:
            cur = c.execute("DELETE FROM conversations WHERE id = ? AND user_id = ?", (conversation_id, user_id))
        return cur.rowcount > 0

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
            self._owned(c, user_id, conversation_id)
            ordinal = c.execute(
                "SELECT COALESCE(MAX(ordinal), 0) + 1 FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()[0]
            c.execute(
                "INSERT INTO messages (id, conversation_id, ordinal, role, content, citations, query, found, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (msg.id, conversation_id, ordinal, role, content, json.dumps(msg.citations, ensure_ascii=False),
                 query, None if found is None else int(found), now),
            )
            c.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        return msg

    def list_messages(self, user_id: str, conversation_id: str) -> list[Message]:
        with self._db.read() as c:
            self._owned(c, user_id, conversation_id)
            rows = c.execute(f"{_MSG} WHERE conversation_id = ? ORDER BY ordinal", (conversation_id,)).fetchall()
        return [_message(r) for r in rows]

    @staticmethod
    def _owned(c: Any, user_id: str, conversation_id: str) -> None:
        row = c.execute(
            "SELECT 1 FROM conversations WHERE id = ? AND user_id = ?", (conversation_id, user_id)
        ).fetchone()
        if row is None:
            raise ConversationNotFound(f"no conversation {conversation_id!r}")

    # -- answered questions and feedback -----------------------------------------------------------------------
    def record_query(self, user_id: str, query: str, answer: str | None, found: bool | None) -> QueryRecord:
        rec = QueryRecord(_new_id(), user_id, query, answer, found, time.time())
        with self._db.write() as c:
            c.execute(
                "INSERT INTO queries (id, user_id, query, answer, found, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (rec.id, user_id, query, answer, None if found is None else int(found), rec.created_at),
            )
        return rec

    def get_query(self, user_id: str, query_id: str) -> QueryRecord | None:
        row = self._db.conn().execute(
            "SELECT id, user_id, query, answer, found, created_at FROM queries WHERE id = ? AND user_id = ?",
            (query_id, user_id),
        ).fetchone()
        return QueryRecord(row[0], row[1], row[2], row[3], _bool(row[4]), row[5]) if row else None

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
        with self._db.write() as c:
            if query_id is not None:
                found = c.execute(
                    "SELECT 1 FROM queries WHERE id = ? AND user_id = ?", (query_id, user_id)
                ).fetchone()
            else:
                found = c.execute(
                    "SELECT 1 FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id "
                    "WHERE m.id = ? AND c.user_id = ?",
                    (message_id, user_id),
                ).fetchone()
            if found is None:
                raise QueryNotFound(f"no {'query' if query_id else 'message'} {query_id or message_id!r}")
            cur = c.execute(
                "INSERT INTO feedback (user_id, query_id, message_id, rating, comment, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, query_id, message_id, rating, comment, now),
            )
        return Feedback(int(cur.lastrowid or 0), user_id, rating, comment, now, query_id, message_id)

    def list_feedback(
        self, *, limit: int = 100, offset: int = 0, user_ids: Sequence[str] | None = None
    ) -> tuple[list[Feedback], int]:
        where, args = ("", []) if user_ids is None else (
            "WHERE user_id IN (SELECT value FROM json_each(?))", [json.dumps(list(user_ids))])
        with self._db.read() as c:
            total = c.execute(f"SELECT COUNT(*) FROM feedback {where}", args).fetchone()[0]
            rows = c.execute(f"{_FEEDBACK} {where} ORDER BY id DESC LIMIT ? OFFSET ?",
                             [*args, limit, offset]).fetchall()
        return [_feedback(r) for r in rows], int(total)

    # -- retention ---------------------------------------------------------------------------------------------
    def purge_before(self, ts: float, *, scope: PurgeScope = "all") -> int:
        if scope not in ("conversations", "queries", "all"):
            raise ValueError(f"unknown purge scope {scope!r}")
        n = 0
        with self._db.write() as c:
            if scope in ("conversations", "all"):
                c.execute(
                    "DELETE FROM feedback WHERE message_id IN (SELECT m.id FROM messages AS m JOIN conversations "
                    "AS c ON c.id = m.conversation_id WHERE c.updated_at < ?)", (ts,),
                )
                n += c.execute("DELETE FROM conversations WHERE updated_at < ?", (ts,)).rowcount  # messages cascade
            if scope in ("queries", "all"):
                c.execute("DELETE FROM feedback WHERE query_id IN (SELECT id FROM queries WHERE created_at < ?)", (ts,))
                n += c.execute("DELETE FROM queries WHERE created_at < ?", (ts,)).rowcount
        return n
