"""The ``Generator`` port: a question and retrieved passages → an answer whose every claim carries a citation.

Contract every adapter keeps:

* ``answer(query, retrieval)`` returns a complete :class:`Answer`.
* ``stream(query, retrieval, history)`` yields :class:`Token` events (pieces of the answer text, in order) and
  finally exactly one :class:`Answer` — the same answer ``answer`` would give, its text equal to the tokens'
  concatenation except where an invalid citation marker was dropped or no source was cited (then the text is
  :data:`NO_ANSWER` and ``found`` is false). A caller that stops iterating stops the generation: adapters
  release the model or the HTTP stream in ``finally``.
* ``standalone_query(messages)`` turns the last user message of a conversation into a question that can be
  searched on its own (a follow-up like "and its price?" needs the earlier turns).
* Every :class:`Citation` points at a retrieved passage: document, page, passage text and its offsets in the
  document's extracted text. An answer never carries a marker without a citation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ragd.retrieve.service import Retrieval


@dataclass(slots=True)
class Citation:
    """Where a piece of the answer comes from: document, page (from 1), passage and its offsets in the document's
    extracted text (``GET /api/v1/documents/{id}/text`` returns that text, so a reader can check)."""

    marker: int
    document_id: str
    filename: str
    chunk_id: str
    page: int | None
    text: str
    start: int
    end: int
    score: float
    heading_path: list[str] = field(default_factory=list)
    attached_to: str | None = None
    """For an attachment (a child document), the message it was found in: ``'Subject' (mail.eml)``."""

    @property
    def label(self) -> str:
        """How the source is named to a reader: ``report.pdf, attached to 'Subject' (mail.eml)``."""
        return f"{self.filename}, attached to {self.attached_to}" if self.attached_to else self.filename


def attached_to_of(metadata: dict[str, Any]) -> str | None:
    """A chunk's ``attached_to`` (its document's metadata, set on attachments), or ``None``."""
    value = metadata.get("attached_to")
    return value if isinstance(value, str) and value else None


@dataclass(slots=True)
class Answer:
    text: str
    citations: list[Citation]
    found: bool
    model: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int = 0
    """Tokens read by the model (0 for the extractive generator, which reads none)."""
    completion_tokens: int = 0
    """Tokens written by the model (extractive: words of the answer)."""


@dataclass(slots=True)
class Token:
    """A piece of answer text, as the model produced it."""

    text: str


@dataclass(slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


GenEvent = Token | Answer
"""What :meth:`Generator.stream` yields: tokens, then one final :class:`Answer`."""

NO_ANSWER = "No answer found in the documents."


class Generator(Protocol):
    name: str

    def answer(self, query: str, retrieval: Retrieval) -> Answer: ...

    def stream(
        self, query: str, retrieval: Retrieval, history: list[ChatMessage] | None = None
    ) -> Iterator[GenEvent]: ...

    def standalone_query(self, messages: list[ChatMessage]) -> str: ...


def final_answer(events: Iterator[GenEvent]) -> Answer:
    """Drain a stream and return its final answer."""
    last: Answer | None = None
    for ev in events:
        if isinstance(ev, Answer):
            last = ev
    if last is None:  # pragma: no cover - an adapter bug
        raise RuntimeError("generator stream ended without an answer")
    return last
