"""Questions and conversations: retrieve → generate (streamed) → check citations → record.

:class:`AnswerService` is what the HTTP routes call for streamed questions, chat turns and the OpenAI-compatible
endpoint. Each call retrieves first (errors there are ordinary HTTP errors) and returns a :class:`Turn` whose
:meth:`Turn.events` yields the generator's tokens and final answer; when the answer arrives it is recorded
(the query log for ``query_id``, the conversation for ``message_id``) and observed (metrics).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ragd.config import PrivacySettings
from ragd.errors import ConversationNotFound, ValidationFailed
from ragd.generate.base import Answer, ChatMessage, Generator, GenEvent, final_answer
from ragd.models import SearchFilters
from ragd.privacy.apply import CollectionPrivacy, effective, redact_answer, redact_events, redact_retrieval
from ragd.retrieve.service import Mode, Retrieval, Retriever
from ragd.store.conversations import ConversationStore

Observer = Callable[[str, Retrieval, Answer, dict[str, float]], None]
_TITLE_CHARS = 80


@dataclass(slots=True)
class Turn:
    """One question being answered: retrieval is done, generation happens while :meth:`events` is iterated."""

    query: str
    """What was searched (for a chat turn: the standalone rewrite of the last user message)."""
    retrieval: Retrieval
    _events: Iterator[GenEvent]
    _finish: Callable[[Answer], dict[str, str]]
    _started: float
    conversation_id: str | None = None
    ids: dict[str, str] = field(default_factory=dict)
    """Filled when the answer is recorded: ``query_id`` or ``message_id`` (and ``conversation_id``)."""
    answer: Answer | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    after: Callable[[Turn, Answer], None] | None = None
    """Called once the answer is recorded (the API hangs the audit decision record here)."""

    def events(self) -> Iterator[GenEvent]:
        """Tokens, then the final (recorded) answer. Closing this iterator early stops the generation."""
        try:
            for ev in self._events:
                if isinstance(ev, Answer):
                    self._done(ev)
                yield ev
        finally:
            close = getattr(self._events, "close", None)
            if close is not None:
                close()

    def result(self) -> Answer:
        return final_answer(self.events())

    def _done(self, ans: Answer) -> None:
        self.answer = ans
        t = dict(self.retrieval.timings_ms)
        t.update(ans.timings_ms)
        t["total"] = (time.perf_counter() - self._started) * 1000
        self.timings_ms = {k: round(v, 3) for k, v in t.items()}
        self.ids.update(self._finish(ans))
        if self.after is not None:
            self.after(self, ans)


def citation_dicts(ans: Answer) -> list[dict[str, Any]]:
    return [dataclasses.asdict(c) for c in ans.citations]


class AnswerService:
    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        conversations: ConversationStore,
        observe: Observer | None = None,
        privacy: PrivacySettings | None = None,
        collection_privacy: CollectionPrivacy | None = None,
    ) -> None:
        self._retriever = retriever
        self._generator = generator
        self._conversations = conversations
        self._observe = observe
        self._privacy = privacy or PrivacySettings()
        self._collection_privacy = collection_privacy

    def redact_answers(self, retrieval: Retrieval) -> bool:
        """Whether answers drawn from ``retrieval`` are redacted: yes when any collection a passage comes from says
        so — the global ``privacy.redact_answers``, which a collection's own setting (``PUT
        /api/v1/collections/{name}/privacy``) may switch on but never off."""
        default = self._privacy.redact_answers
        if default or self._collection_privacy is None or not retrieval.hits:
            return default
        by_tenant: dict[str, set[str]] = {}
        for h in retrieval.hits:
            by_tenant.setdefault(h.chunk.tenant_id, set()).add(h.chunk.collection)
        for tenant, names in by_tenant.items():
            flags = self._collection_privacy(tenant, sorted(names))
            if any(effective(flags.get(n, (None, None))[1], default) for n in names):
                return True
        return False

    def protect(self, retrieval: Retrieval, ans: Answer | None) -> tuple[Retrieval, Answer | None]:
        """A non-streamed result as users may see it: answer, citation snippets and passages redacted if on."""
        on, kinds, regions = self.redact_answers(retrieval), self._privacy.kinds, self._privacy.phone_regions
        return (redact_retrieval(retrieval, on, kinds, regions),
                None if ans is None else redact_answer(ans, on, kinds, regions))

    def _protect(self, events: Iterator[GenEvent], retrieval: Retrieval) -> Iterator[GenEvent]:
        return redact_events(events, self.redact_answers(retrieval), self._privacy.kinds, self._privacy.phone_regions)

    @property
    def model(self) -> str:
        return str(getattr(self._generator, "model", self._generator.name))

    def record_query(self, user_id: str, query: str, ans: Answer | None) -> str:
        """Log an answered question; returns its ``query_id`` (for feedback)."""
        return self._conversations.record_query(
            user_id, query, ans.text if ans else None, ans.found if ans else None
        ).id

    def ask(
        self,
        user_id: str,
        query: str,
        *,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode | None = None,
    ) -> Turn:
        """A single question (``POST /api/v1/query`` with ``"stream": true``)."""
        t0 = time.perf_counter()
        retrieval = self._retriever.search(query, top_k=top_k, filters=filters, mode=mode)

        def finish(ans: Answer) -> dict[str, str]:
            self._observed(query, retrieval, ans, turn.timings_ms)
            return {"query_id": self.record_query(user_id, query, ans)}

        turn = Turn(query, retrieval, self._protect(self._generator.stream(query, retrieval), retrieval), finish, t0)
        return turn

    def complete(
        self, user_id: str, messages: list[ChatMessage], *, top_k: int | None = None,
        filters: SearchFilters | None = None,
    ) -> Turn:
        """A stateless chat turn (the OpenAI-compatible endpoint: the client sends the whole history)."""
        t0 = time.perf_counter()
        history, question = _split(messages)
        query = self._generator.standalone_query([*history, question]) if history else question.content
        retrieval = self._retriever.search(query, top_k=top_k, filters=filters)

        def finish(ans: Answer) -> dict[str, str]:
            self._observed(query, retrieval, ans, turn.timings_ms)
            return {"query_id": self.record_query(user_id, question.content, ans)}

        events = self._protect(self._generator.stream(question.content, retrieval, history), retrieval)
        turn = Turn(query, retrieval, events, finish, t0)
        return turn

    def chat(
        self,
        user_id: str,
        messages: list[ChatMessage],
        conversation_id: str | None = None,
        *,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        create: bool = False,
        shown_id: str | None = None,
    ) -> Turn:
        """A stored chat turn. With ``conversation_id`` the stored history is authoritative and only the last
        user message is new; without, a conversation is created holding every message given.

        ``create`` (the compatibility route ``POST /chat``, whose clients name their conversations): a
        ``conversation_id`` the user has no conversation under is created under that id, and while it holds no
        message yet the messages given are its history, as for a new conversation. Another user's conversation
        under that id is :class:`ConversationNotFound`, as always. ``shown_id`` names the conversation in that
        error (the client's own id, not the store's)."""
        t0 = time.perf_counter()
        given_history, question = _split(messages)
        store = self._conversations
        title = " ".join(question.content.split())[:_TITLE_CHARS]
        if conversation_id:
            conv = (store.ensure_conversation(user_id, conversation_id, title) if create
                    else store.get_conversation(user_id, conversation_id))
            if conv is None:
                raise ConversationNotFound(f"no conversation {shown_id or conversation_id!r}")
            stored = [] if create and not conv.message_count else store.list_messages(user_id, conv.id)
            if create and not stored:  # the first turn of a client-named conversation: as a new one
                history, new = given_history, [*given_history, question]
            else:
                history, new = [ChatMessage(m.role, m.content) for m in stored], [question]
        else:
            conv = store.create_conversation(user_id, title)
            history, new = given_history, [*given_history, question]
        query = self._generator.standalone_query([*history, question]) if history else question.content
        retrieval = self._retriever.search(query, top_k=top_k, filters=filters)
        for m in new:
            store.add_message(user_id, conv.id, m.role, m.content)

        def finish(ans: Answer) -> dict[str, str]:
            self._observed(query, retrieval, ans, turn.timings_ms)
            msg = store.add_message(
                user_id, conv.id, "assistant", ans.text, citations=citation_dicts(ans), query=query, found=ans.found
            )
            return {"message_id": msg.id, "conversation_id": conv.id}

        events = self._protect(self._generator.stream(question.content, retrieval, history), retrieval)
        turn = Turn(query, retrieval, events, finish, t0, conversation_id=conv.id)
        return turn

    def _observed(self, query: str, retrieval: Retrieval, ans: Answer, timings: dict[str, float]) -> None:
        if self._observe is not None:
            self._observe(query, retrieval, ans, timings)


def _split(messages: list[ChatMessage]) -> tuple[list[ChatMessage], ChatMessage]:
    if not messages or messages[-1].role != "user" or not messages[-1].content.strip():
        raise ValidationFailed("messages: the last message must be a non-empty user message")
    history = [m for m in messages[:-1] if m.role in ("user", "assistant")]
    return history, messages[-1]
