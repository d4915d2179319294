"""Server-Sent Events for answers being generated.

ragd's own stream (``POST /api/v1/query`` with ``"stream": true``, ``POST /api/v1/chat``)::

    event: token       data: {"text": "…"}                                   (repeated)
    event: citations   data: {"citations": [...], "answer": "…", "found": true}
    event: done        data: {"timings_ms": {...}, "prompt_tokens": n, "completion_tokens": n, "model": "…",
                              "query_id" | "message_id" + "conversation_id": "…"}
    event: error       data: <problem+json body>                             (instead, if the model fails)

While the model is slow (a long prompt, a queue on its server), a comment line ``: ping`` goes out every
``RAGD_SERVER__SSE_PING_SECONDS`` so that proxies and load balancers do not close an idle connection; SSE clients
ignore comments (the web UI, the OpenAI SDK). The response is sse-starlette's ``EventSourceResponse``, which sends
the pings beside the events and stops them when the stream ends or the client goes away.

``citations`` carries the same fields as the non-streamed response, plus the final answer text: when the model
cited no source, ``found`` is false and ``answer`` is "No answer found in the documents." — clients replace the
streamed text with it. The generator is pulled one event at a time in a worker thread; when the client goes
away Starlette cancels the response, and the ``finally`` below closes the generator, which stops the model
(llama.cpp) or closes the upstream HTTP stream (openai).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent

from ragd.api.schemas import CitationOut
from ragd.errors import RagdError
from ragd.generate.base import Answer, GenEvent, Token
from ragd.generate.service import Turn

log = logging.getLogger(__name__)
T = TypeVar("T")
_END = object()

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping", sep="\n")


def stream_response(body: AsyncIterator[bytes], ping: float, headers: dict[str, str] | None = None
                    ) -> EventSourceResponse:
    """An SSE response sending ``body`` as is, with a ``: ping`` comment every ``ping`` seconds."""
    return EventSourceResponse(body, headers={**SSE_HEADERS, **(headers or {})}, ping=ping, sep="\n",
                               ping_message_factory=_ping)


def sse(event: str | None, data: Any) -> bytes:
    """One event; ``event=None`` writes a bare ``data:`` line (the OpenAI stream format)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def problem_body(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, RagdError):
        return exc.to_problem()
    log.error("generation failed", exc_info=exc)
    return {
        "type": "https://ragd.dev/errors/internal_error", "title": "Internal error", "status": 500,
        "code": "internal_error", "detail": "an unexpected error occurred; it has been logged",
    }


async def pull(items: Iterator[T]) -> AsyncIterator[T]:
    """Iterate a blocking iterator without blocking the event loop; always close it (also when cancelled)."""
    try:
        while True:
            item = await anyio.to_thread.run_sync(next, items, _END)
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


async def event_stream(
    items: Iterator[T], render: Callable[[T], list[bytes]], on_error: Callable[[BaseException], list[bytes]]
) -> AsyncIterator[bytes]:
    """Render each item as SSE bytes; an exception midway becomes the ``on_error`` events and ends the stream."""
    source = pull(items)
    try:
        async for item in source:
            for chunk in render(item):
                yield chunk
    except Exception as exc:
        for chunk in on_error(exc):
            yield chunk
    finally:
        await source.aclose()


def turn_response(turn: Turn, ping: float, headers: dict[str, str] | None = None) -> EventSourceResponse:
    """ragd's SSE stream of one :class:`~ragd.generate.service.Turn` (format in the module docstring)."""

    def render(ev: GenEvent) -> list[bytes]:
        if isinstance(ev, Token):
            return [sse("token", {"text": ev.text})]
        assert isinstance(ev, Answer)
        cites = [CitationOut.of(c).model_dump() for c in ev.citations]
        done = {
            "timings_ms": turn.timings_ms, "prompt_tokens": ev.prompt_tokens,
            "completion_tokens": ev.completion_tokens, "model": ev.model, "query": turn.query, **turn.ids,
        }
        return [sse("citations", {"citations": cites, "answer": ev.text, "found": ev.found}), sse("done", done)]

    return stream_response(event_stream(turn.events(), render, lambda exc: [sse("error", problem_body(exc))]),
                           ping, headers)
