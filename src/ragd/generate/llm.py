"""What every LLM-backed generator shares: prompt, stream, marker filtering, citation check, rewriting.

An adapter (``openai``, ``llamacpp``) subclasses :class:`LLMGenerator` and provides the model calls:
:meth:`_deltas` (stream the answer's text pieces for chat messages), :meth:`_complete` (one short non-streamed
completion) and :meth:`count_tokens`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from ragd.config import LLMSettings
from ragd.generate.base import NO_ANSWER, Answer, ChatMessage, GenEvent, Token, final_answer
from ragd.generate.citations import MarkerFilter, resolve
from ragd.generate.prompts import build_prompt, condense_messages
from ragd.retrieve.service import Retrieval

_CONDENSE_TOKENS = 96


@dataclass(slots=True)
class Usage:
    """Token counts reported by the model server, when it reports them."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class LLMGenerator:
    name = "llm"

    def __init__(self, settings: LLMSettings, model: str) -> None:
        self.settings = settings
        self.model = model

    # -- to provide ------------------------------------------------------------------------------------------
    @property
    def context_size(self) -> int:
        return self.settings.context_size

    def count_tokens(self, text: str) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _deltas(self, messages: list[dict[str, str]], usage: Usage) -> Iterator[str]:  # pragma: no cover
        raise NotImplementedError

    def _complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        """Release the model or the HTTP client."""

    # -- the Generator port ----------------------------------------------------------------------------------
    def answer(self, query: str, retrieval: Retrieval) -> Answer:
        return final_answer(self.stream(query, retrieval))

    def stream(
        self, query: str, retrieval: Retrieval, history: list[ChatMessage] | None = None
    ) -> Iterator[GenEvent]:
        t0 = time.perf_counter()
        prompt = build_prompt(
            query, retrieval.hits, self.count_tokens, context_size=self.context_size,
            max_tokens=self.settings.max_tokens, history=history,
        )
        timings = {"prompt": (time.perf_counter() - t0) * 1000}
        if not prompt.sources:  # nothing retrieved: no source to cite, so no call to the model at all
            timings["generate"] = (time.perf_counter() - t0) * 1000
            yield Answer(NO_ANSWER, [], False, self.model, timings)
            return
        markers = MarkerFilter({s.number for s in prompt.sources})
        parts: list[str] = []
        pieces = 0
        usage = Usage()
        first: float | None = None
        deltas = self._deltas(prompt.messages, usage)
        try:
            for delta in deltas:
                pieces += 1
                if first is None:
                    first = time.perf_counter()
                out = markers.feed(delta)
                if out:
                    parts.append(out)
                    yield Token(out)
        finally:
            close = getattr(deltas, "close", None)
            if close is not None:
                close()  # a consumer that stops iterating stops the model
        tail = markers.flush()
        if tail:
            parts.append(tail)
            yield Token(tail)
        ans = resolve("".join(parts), prompt.sources, self.model)
        if first is not None:
            timings["first_token"] = (first - t0) * 1000
        timings["generate"] = (time.perf_counter() - t0) * 1000
        ans.timings_ms = timings
        ans.prompt_tokens = usage.prompt_tokens if usage.prompt_tokens is not None else prompt.prompt_tokens
        ans.completion_tokens = usage.completion_tokens if usage.completion_tokens is not None else pieces
        yield ans

    def standalone_query(self, messages: list[ChatMessage]) -> str:
        """The last user message, rewritten by the model into a standalone query when there are earlier turns."""
        users = [m for m in messages if m.role == "user"]
        if not users:
            return ""
        last = users[-1].content.strip()
        if len(messages) < 2 or messages[-1].role != "user":
            return last
        text = self._complete(condense_messages(messages), _CONDENSE_TOKENS)
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        line = line.strip("\"'«»“” ").removeprefix("Standalone query:").strip()
        return line[:1000] or last
