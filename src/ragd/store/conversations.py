"""The ``ConversationStore`` port: chat history, the log of answered questions, and user feedback.

Every method takes the acting user's id (``"local"`` while authentication is off): a user sees and changes only
their own conversations, messages and queries. Feedback is listed for administrators across all users.
Each storage backend hands out its adapter as :attr:`ragd.store.backend.Backend.conversations`; the conformance
suite is
:class:`ragd.testing.conversation_conformance.ConversationStoreConformance`.

Contract (pinned by the conformance suite):

* ids of conversations, messages and queries are opaque strings chosen by the store; feedback ids are integers.
* ``list_conversations`` is newest-activity first and returns ``(page, total)``; ``list_messages`` is oldest
  first. Deleting a conversation deletes its messages.
* ``add_message``/``list_messages`` on a conversation the user does not own raise
  :class:`~ragd.errors.ConversationNotFound` (never another user's data); ``get_conversation`` returns ``None``.
* ``add_feedback`` names exactly one of ``query_id``/``message_id``, which must belong to the user
  (:class:`~ragd.errors.QueryNotFound` otherwise); ``rating`` is 1 or -1 (``ValueError`` otherwise).
* ``purge_before`` (retention) removes old conversations or logged questions of every user; feedback goes
  with what it rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]
PurgeScope = Literal["conversations", "queries", "all"]
LOCAL_USER = "local"
"""The user id of every request while authentication is disabled."""


@dataclass(slots=True)
class Conversation:
    id: str
    user_id: str
    title: str
    created_at: float
    updated_at: float
    message_count: int = 0


@dataclass(slots=True)
class Message:
    id: str
    conversation_id: str
    role: Role
    content: str
    created_at: float
    citations: list[dict[str, Any]] = field(default_factory=list)
    query: str | None = None
    """For an assistant message: the standalone query its passages were retrieved with."""
    found: bool | None = None


@dataclass(slots=True)
class QueryRecord:
    id: str
    user_id: str
    query: str
    answer: str | None
    found: bool | None
    created_at: float


@dataclass(slots=True)
class Feedback:
    id: int
    user_id: str
    rating: int
    comment: str | None
    created_at: float
    query_id: str | None = None
    message_id: str | None = None


class ConversationStore(Protocol):
    def migrate(self) -> None:
        """Create or upgrade the tables. Idempotent."""

    def close(self) -> None: ...

    # -- conversations ------------------------------------------------------------------------------------------
    def create_conversation(self, user_id: str, title: str) -> Conversation: ...

    def get_conversation(self, user_id: str, conversation_id: str) -> Conversation | None: ...

    def list_conversations(
        self, user_id: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[Conversation], int]: ...

    def delete_conversation(self, user_id: str, conversation_id: str) -> bool:
        """True if it existed (and belonged to the user)."""

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
    ) -> Message: ...

    def list_messages(self, user_id: str, conversation_id: str) -> list[Message]: ...

    # -- answered questions and feedback -----------------------------------------------------------------------
    def record_query(self, user_id: str, query: str, answer: str | None, found: bool | None) -> QueryRecord: ...

    def get_query(self, user_id: str, query_id: str) -> QueryRecord | None: ...

    def add_feedback(
        self,
        user_id: str,
        rating: int,
        comment: str | None = None,
        *,
        query_id: str | None = None,
        message_id: str | None = None,
    ) -> Feedback: ...

    def list_feedback(
        self, *, limit: int = 100, offset: int = 0, user_ids: Sequence[str] | None = None
    ) -> tuple[list[Feedback], int]:
        """Feedback newest first, of the given users only when ``user_ids`` is not ``None`` (administrators)."""

    # -- retention ---------------------------------------------------------------------------------------------
    def purge_before(self, ts: float, *, scope: PurgeScope = "all") -> int:
        """Retention (every user): delete what is older than ``ts`` and return how many records went.
        ``"conversations"``: conversations whose last activity (``updated_at``) is before ``ts``, with their
        messages and the feedback on those messages — counts conversations. ``"queries"``: logged questions
        created before ``ts``, with the feedback on them — counts queries. ``"all"``: both, summed."""

