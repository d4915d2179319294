"""An OpenAI-compatible API at ``/v1``, so the OpenAI SDK, Open WebUI or any chat client can ask the documents.

* ``GET /v1/models`` lists one model, ``ragd``.
* ``POST /v1/chat/completions`` answers the last user message from the documents (earlier messages are the
  conversation; nothing is stored). The answer text ends with numbered footnotes (``[1] handbook.pdf, page 3``)
  and the response carries a top-level ``citations`` list (the fields of ``/api/v1/query``'s citations). Streamed
  (``"stream": true``): ``chat.completion.chunk`` objects as ``data:`` lines; the last content chunk carries the
  footnotes, ``finish_reason`` ``"stop"`` and ``citations``; then ``data: [DONE]``. A failure midway is a
  ``data: {"error": {...}}`` line (the OpenAI SDK raises it as an ``APIError``).
* Authentication: ``Authorization: Bearer <API key or access token>``, like the rest of the API (any value is
  accepted while ragd's authentication is disabled). Answers come only from documents the caller may read.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ragd.api.deps import QueryActor, RagdDep
from ragd.api.limits import CHAT_MESSAGE_CEILING, CHAT_MESSAGES_CEILING, check_chat
from ragd.api.problems import AUTH, BODY, LLM, problems
from ragd.api.schemas import CitationOut
from ragd.api.sse import event_stream, problem_body, sse, stream_response
from ragd.generate.base import NO_ANSWER, Answer, ChatMessage, GenEvent, Token

MODEL_ID = "ragd"
router = APIRouter(prefix="/v1", tags=["openai-compatible"])


class OAIMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    role: str = Field(..., max_length=32)
    content: (Annotated[str, Field(max_length=CHAT_MESSAGE_CEILING)]
              | Annotated[list[dict[str, Any]], Field(max_length=100)] | None) = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # temperature, top_p, user… are accepted and not used
    model: str = MODEL_ID
    messages: list[OAIMessage] = Field(..., min_length=1, max_length=CHAT_MESSAGES_CEILING)
    stream: bool = False
    top_k: int = Field(5, ge=1, le=100, description="ragd extension: passages retrieved.")


def _messages(body: ChatCompletionRequest) -> list[ChatMessage]:
    out: list[ChatMessage] = []
    for m in body.messages:
        role = {"developer": "system"}.get(m.role, m.role)
        if role in ("system", "user", "assistant"):
            out.append(ChatMessage(role, m.text()))  # type: ignore[arg-type]
    return out


def footnotes(ans: Answer) -> str:
    if not ans.found or not ans.citations:
        return ""
    lines = []
    for c in ans.citations:
        page = f", page {c.page}" if c.page is not None else ""
        lines.append(f"[{c.marker}] {c.filename}{page}")
    return "\n\nSources:\n" + "\n".join(lines)


def _usage(ans: Answer) -> dict[str, int]:
    return {"prompt_tokens": ans.prompt_tokens, "completion_tokens": ans.completion_tokens,
            "total_tokens": ans.prompt_tokens + ans.completion_tokens}


@router.get("/models", responses=problems(*AUTH))
def models(actor: QueryActor) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "ragd"}]}


@router.post("/chat/completions",
             responses={200: {"content": {"text/event-stream": {}}}, **problems(*AUTH, *BODY, *LLM)})
def chat_completions(
    ragd: RagdDep, actor: QueryActor, body: ChatCompletionRequest,
) -> Any:
    check_chat([m.text() for m in body.messages], ragd.settings.limits)
    turn = ragd.answers.complete(actor.user_id, _messages(body), top_k=body.top_k,
                                 filters=ragd.access.filters(actor))
    turn.after = lambda t, a: ragd.record_decision(actor, t.query, t.retrieval, a, t.ids.get("query_id"),
                                                   top_k=body.top_k)
    created = int(time.time())
    if not body.stream:
        ans = turn.result()
        return {
            "id": f"chatcmpl-{turn.ids.get('query_id', uuid.uuid4().hex)}", "object": "chat.completion",
            "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ans.text + footnotes(ans)},
                         "finish_reason": "stop"}],
            "usage": _usage(ans),
            "citations": [CitationOut.of(c).model_dump() for c in ans.citations],
        }
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    streamed: list[str] = []

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return sse(None, {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                          "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    def render(ev: GenEvent) -> list[bytes]:
        if isinstance(ev, Token):
            out = [chunk({"role": "assistant", "content": ""})] if not streamed else []
            streamed.append(ev.text)
            return [*out, chunk({"content": ev.text})]
        assert isinstance(ev, Answer)
        tail = footnotes(ev)
        if not ev.found and "".join(streamed).strip() != ev.text:
            tail = ("\n\n" if streamed else "") + NO_ANSWER  # the streamed text cited no source
        head = [] if streamed else [chunk({"role": "assistant", "content": ""})]
        cites = [CitationOut.of(c).model_dump() for c in ev.citations]
        return [*head, chunk({"content": tail}, "stop", citations=cites, usage=_usage(ev),
                             ragd={"query_id": turn.ids.get("query_id"), "found": ev.found}), sse(None, "[DONE]")]

    def on_error(exc: BaseException) -> list[bytes]:
        p = problem_body(exc)
        return [sse(None, {"error": {"message": p["detail"], "type": p["code"], "code": p["code"]}}),
                sse(None, "[DONE]")]

    return stream_response(event_stream(turn.events(), render, on_error), ragd.settings.server.sse_ping_seconds)
