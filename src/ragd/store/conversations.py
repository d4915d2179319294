"""The ``ConversationStore`` port: chat history, the log of answered questions, and user feedback.

Every method takes the acting user's id (``"local"`` while authentication is off): a user sees and changes only
their own conversations, messages and queries. Feedback is listed for administrators across all users.
Each storage backend hands out its adapter as :attr:`ragd.store.backend.Backend.conversations`; the conformance
suite is
:class:`ragd.testing.conversation_conformance.ConversationStoreConformance`.

Contract (pinned by the conformance suite):

* ids of conversations, messages and queries are opaque strings chosen by the store (except
  ``ensure_conversation``, whose caller names the conversation); feedback ids are integers.
* ``ensure_conversation`` creates the conversation under the given id when no conversation has it, and returns it
  when the user owns it; when another user's conversation has that id it returns ``None`` and changes nothing
  (the same answer as an id that does not exist: an id never tells whether someone else uses it). Concurrent
  calls with the same id create one conversation.
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

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]
PurgeScope = Literal["conversations", "queries", "all"]
LOCAL_USER = "local"
"""The user id of every request while authentication is disabled."""

CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
"""What a client may call its conversation (the compatibility route ``POST /chat``): 1-128 letters, digits,
``.``, ``_``, ``:`` or ``-``, starting with a letter or a digit."""


def client_conversation_id(user_id: str, client_id: str) -> str:
    """The store's id of the conversation that user ``user_id`` calls ``client_id``.

    Client ids are chosen by clients, so two users may pick the same one: each user's client ids live in a space
    of their own (a hash of the user and the client id), and one user's id never names, reaches or reveals another
    user's conversation. The ``cc_`` prefix and the length keep these ids apart from the store's own (32 hex
    digits), and within the 64 characters ``POST /api/v1/chat`` accepts, so the native routes continue them.
    """
    digest = hashlib.sha256(f"{user_id}\x00{client_id}".encode()).hexdigest()
    return f"cc_{digest[:40]}"


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

    def ensure_conversation(self, user_id: str, conversation_id: str, title: str) -> Conversation | None:
        """The user's conversation ``conversation_id``, created (titled ``title``) if no conversation has that id;
        ``None`` if another user's has it."""

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

