"""Conversations: ``POST /api/v1/chat`` (plain or streamed) and the stored history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from ragd.api.deps import QueryActor, RagdDep
from ragd.api.limits import CHAT_MESSAGE_CEILING, CHAT_MESSAGES_CEILING, check_chat
from ragd.api.problems import AUTH, BODY, LLM, problems
from ragd.api.schemas import CitationOut, Filters, Offset, ResultOut
from ragd.api.sse import turn_response
from ragd.auth.actor import Actor
from ragd.core import Ragd
from ragd.errors import ConversationNotFound
from ragd.generate.base import Answer, ChatMessage
from ragd.generate.service import Turn
from ragd.store.conversations import Conversation, Message


async def current_user(actor: QueryActor) -> str:
    """The acting user's id (``"local"`` while authentication is off): conversations and feedback are per user."""
    return actor.user_id


UserDep = Annotated[str, Depends(current_user)]

router = APIRouter(prefix="/api/v1", tags=["chat"])


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["system", "user", "assistant"]
    content: str = Field(..., max_length=CHAT_MESSAGE_CEILING)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    messages: list[MessageIn] = Field(..., min_length=1, max_length=CHAT_MESSAGES_CEILING)
    conversation_id: str | None = Field(None, max_length=64, description="Continue this conversation; absent: "
                                        "a new one is created holding every message given.")
    stream: bool = Field(False, description="Stream the answer as Server-Sent Events.")
    top_k: int = Field(5, ge=1, le=100)
    filters: Filters | None = None


class ChatResponse(BaseModel):
    conversation_id: str
    message_id: str
    answer: str
    found: bool
    citations: list[CitationOut]
    query: str = Field(..., description="The standalone query the passages were retrieved with.")
    results: list[ResultOut]
    model: str
    timings_ms: dict[str, float]


class MessageOut(BaseModel):
    id: str
    role: str
    content: str
    created_at: float
    citations: list[dict[str, Any]]
    query: str | None
    found: bool | None

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(id=m.id, role=m.role, content=m.content, created_at=m.created_at, citations=m.citations,
                   query=m.query, found=m.found)


class ConversationOut(BaseModel):
    id: str
    title: str
    created_at: float
    updated_at: float
    message_count: int

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        return cls(id=c.id, title=c.title, created_at=c.created_at, updated_at=c.updated_at,
                   message_count=c.message_count)


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]


class ConversationList(BaseModel):
    conversations: list[ConversationOut]
    total: int
    limit: int
    offset: int


@router.post("/chat", response_model=ChatResponse,
             responses={200: {"content": {"text/event-stream": {}}}, **problems(*AUTH, *BODY, 404, *LLM)})
def chat(ragd: RagdDep, actor: QueryActor, body: ChatRequest) -> ChatResponse | EventSourceResponse:
    turn = start_turn(ragd, actor, body, body.conversation_id)
    if body.stream:
        return turn_response(turn, ragd.settings.server.sse_ping_seconds,
                             {"X-Conversation-Id": turn.conversation_id or ""})
    return chat_response(turn, turn.result())


def start_turn(ragd: Ragd, actor: Actor, body: ChatRequest, conversation_id: str | None, *, create: bool = False,
               shown_id: str | None = None) -> Turn:
    """One chat turn of ``actor`` (limits, access filters, the audit decision record once answered): for
    ``POST /api/v1/chat`` and the compatibility ``POST /chat`` (``create``: :meth:`AnswerService.chat`)."""
    from ragd.api.routes.query import to_search_filters

    check_chat([m.content for m in body.messages], ragd.settings.limits)
    messages = [ChatMessage(m.role, m.content) for m in body.messages]
    filters = ragd.access.filters(actor, to_search_filters(body.filters))
    turn = ragd.answers.chat(actor.user_id, messages, conversation_id, top_k=body.top_k, filters=filters,
                             create=create, shown_id=shown_id)
    turn.after = lambda t, a: ragd.record_decision(actor, t.query, t.retrieval, a, t.ids.get("message_id"),
                                                   top_k=body.top_k)
    return turn


def chat_response(turn: Turn, ans: Answer) -> ChatResponse:
    return ChatResponse(
        conversation_id=turn.ids["conversation_id"], message_id=turn.ids["message_id"], answer=ans.text,
        found=ans.found, citations=[CitationOut.of(c) for c in ans.citations], query=turn.query,
        results=[ResultOut.of(h) for h in turn.retrieval.hits], model=ans.model, timings_ms=turn.timings_ms,
    )


@router.get("/conversations", response_model=ConversationList, responses=problems(*AUTH))
def list_conversations(
    ragd: RagdDep, user: UserDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> ConversationList:
    page, total = ragd.conversations.list_conversations(user, limit=limit, offset=offset)
    return ConversationList(conversations=[ConversationOut.of(c) for c in page], total=total, limit=limit,
                            offset=offset)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail,
            responses=problems(*AUTH, 404))
def get_conversation(ragd: RagdDep, user: UserDep, conversation_id: str) -> ConversationDetail:
    conv = ragd.conversations.get_conversation(user, conversation_id)
    if conv is None:
        raise ConversationNotFound(f"no conversation {conversation_id!r}")
    msgs = ragd.conversations.list_messages(user, conversation_id)
    return ConversationDetail(**ConversationOut.of(conv).model_dump(), messages=[MessageOut.of(m) for m in msgs])


@router.delete("/conversations/{conversation_id}", status_code=204, responses=problems(*AUTH, 404))
def delete_conversation(ragd: RagdDep, user: UserDep, conversation_id: str) -> Response:
    if not ragd.conversations.delete_conversation(user, conversation_id):
        raise ConversationNotFound(f"no conversation {conversation_id!r}")
    return Response(status_code=204)
