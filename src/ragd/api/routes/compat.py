"""Compatibility routes: the first calls of the hand-built deployments ragd replaces, at the root of the server.

Teams come to ragd from FastAPI RAG recipes and from the "FilAgent" compliance agent with their clients and probes.
These routes answer those calls (docs/migrating.md has the table):

==============================  ==============================================================================
``GET /health``, ``GET /ready``  ``GET /api/v1/health``, ``GET /api/v1/ready`` (the same functions)
``POST /auth/login``             ``POST /api/v1/auth/login``; also accepts an OAuth2 password form
``POST /documents/upload``       ``POST /api/v1/documents/upload``; file parts named ``file`` or ``files``
``POST /documents/upload/bulk``  the same (several files in one request)
``POST /chat/query``             ``POST /api/v1/query``; ``limit`` is another name of ``top_k``
``POST /chat``                   ``POST /api/v1/chat`` with a client-chosen ``conversation_id``, plus
                                 ``status``, ``choices`` and ``usage``
``GET /conversations/{id}``      ``GET /api/v1/conversations/{id}`` for that client id
==============================  ==============================================================================

They are hidden from the OpenAPI document (``include_in_schema=False``): the documented API stays ``/api/v1``. Each
calls the native route's own function or its helpers with the same dependencies (``QueryActor``, ``WriterActor``,
``UserDep``), so authentication, rate limits, upload and body limits, permissions and audit are those of the native
route: there is no second code path for an access decision (the permission matrix checks every route here against
its native twin). Every response of a route here, its errors included, carries ``Deprecation`` (RFC 9745) and a
``Link`` to the native route (``rel="successor-version"``); refusals sent before a route runs (the body caps of
:mod:`ragd.api.limits`, a wrong method) do not.

Client conversation ids: ``POST /chat`` takes the id a client chose (:data:`ragd.store.conversations.CLIENT_ID`),
creates the conversation on its first use and keeps it the caller's. Each user's ids map to store ids of their own
(:func:`ragd.store.conversations.client_conversation_id`), so another user sending the same id gets a conversation
of their own, and can neither read nor append to, nor learn anything about, the first one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from ragd.api.deps import QueryActor, RagdDep, WriterActor
from ragd.api.limits import upload_route
from ragd.api.routes import auth, chat, documents, ops, query, system
from ragd.api.routes.openai_compat import footnotes
from ragd.api.schemas import QueryRequest, QueryResponse, UploadResponse
from ragd.errors import ConflictingParameters, ConversationNotFound, ValidationFailed
from ragd.store.conversations import CLIENT_ID, client_conversation_id

#: When these routes were deprecated (RFC 9745 ``@``-date): from the start, they exist for migrations.
DEPRECATED_SINCE = "@1796083200"  # 2026-12-01T00:00:00Z
FILE_FIELDS = ("file", "files", "files[]")
_BAD_ID = ("a conversation id is 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or a digit")
_SUCCESSORS: dict[str, str] = {
    "/health": "/api/v1/health",
    "/ready": "/api/v1/ready",
    "/auth/login": "/api/v1/auth/login",
    "/documents/upload": "/api/v1/documents/upload",
    "/documents/upload/bulk": "/api/v1/documents/upload",
    "/chat/query": "/api/v1/query",
    "/chat": "/api/v1/chat",
    "/conversations/{conversation_id}": "/api/v1/conversations",
}


class CompatRoute(APIRoute):
    """A route whose every response (errors included: their handlers run inside the route) says it is deprecated
    and names its native successor."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        successor = _SUCCESSORS[self.path]

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Deprecation"] = DEPRECATED_SINCE
                headers.append("Link", f'<{successor}>; rel="successor-version"')
            await send(message)

        await super().handle(scope, receive, marked)


router = APIRouter(route_class=CompatRoute, include_in_schema=False, tags=["compatibility"])

# -- probes: the native functions themselves ------------------------------------------------------------------------
router.add_api_route("/health", system.health, methods=["GET"])
router.add_api_route("/ready", ops.ready, methods=["GET"])


# -- sign-in ----------------------------------------------------------------------------------------------------------
@router.post("/auth/login")
async def login(ragd: RagdDep, request: Request) -> dict[str, Any]:
    """``POST /api/v1/auth/login`` with its JSON body, or the ``application/x-www-form-urlencoded`` form of an
    OAuth2 password grant (``username``, ``password``; other fields ignored) that FastAPI recipes send."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        data: Any = {k: form.get(k) for k in ("username", "password") if isinstance(form.get(k), str)}
    else:
        raw = await request.body()
        try:
            data = json.loads(raw) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                           "msg": f"JSON decode error: {exc}", "input": {}}]) from None
    try:
        body = auth.LoginRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    return await run_in_threadpool(auth.login, ragd, body, request)


# -- uploads ----------------------------------------------------------------------------------------------------------
@upload_route
async def upload(request: Request, ragd: RagdDep, actor: WriterActor) -> UploadResponse:
    """``POST /api/v1/documents/upload``, its file parts named ``file``, ``files`` or ``files[]``."""
    return await documents.receive_upload(request, ragd, actor, FILE_FIELDS)


for _path in ("/documents/upload", "/documents/upload/bulk"):
    router.add_api_route(_path, upload, methods=["POST"], status_code=201, response_model=UploadResponse)


# -- questions --------------------------------------------------------------------------------------------------------
class CompatQueryRequest(QueryRequest):
    limit: int | None = Field(None, ge=1, le=100, description="Another name of top_k.")


@router.post("/chat/query", response_model=QueryResponse)
def chat_query(ragd: RagdDep, actor: QueryActor, body: CompatQueryRequest) -> Any:
    """``POST /api/v1/query``; ``limit`` is ``top_k`` (both given with different values: 422
    ``conflicting_parameters``)."""
    if body.limit is not None:
        if "top_k" in body.model_fields_set and body.top_k != body.limit:
            raise ConflictingParameters(f"limit ({body.limit}) and top_k ({body.top_k}) name the same parameter: "
                                        "give one of them")
        body.top_k = body.limit
    return query.query(ragd, actor, body)


class CompatChatRequest(chat.ChatRequest):
    conversation_id: str | None = Field(None, description="The client's own id for the conversation: created on "
                                        "first use, the caller's alone. Absent: a new conversation.")

    @field_validator("conversation_id")
    @classmethod
    def _client_id(cls, value: str | None) -> str | None:
        if value is not None and not CLIENT_ID.match(value):
            raise ValueError(_BAD_ID)
        return value


@router.post("/chat")
def compat_chat(ragd: RagdDep, actor: QueryActor, body: CompatChatRequest) -> dict[str, Any]:
    """A turn of the conversation the client calls ``conversation_id`` (a new one without): ragd's chat answer,
    plus ``status``, OpenAI-style ``choices`` and ``usage``. The last message is the question; the earlier ones
    are the history only on the conversation's first turn (afterwards the stored history is authoritative)."""
    if body.stream:
        raise ValidationFailed("stream: POST /chat answers in one JSON body; stream with POST /api/v1/chat")
    client_id = body.conversation_id or uuid.uuid4().hex
    store_id = client_conversation_id(actor.user_id, client_id)
    turn = chat.start_turn(ragd, actor, body, store_id, create=True, shown_id=client_id)
    ans = turn.result()
    out = chat.chat_response(turn, ans).model_dump()
    return {
        **out, "conversation_id": client_id, "ragd_conversation_id": store_id, "status": "success",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ans.text + footnotes(ans)},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": ans.prompt_tokens, "completion_tokens": ans.completion_tokens,
                  "total_tokens": ans.prompt_tokens + ans.completion_tokens},
    }


@router.get("/conversations/{conversation_id}")
def get_conversation(ragd: RagdDep, user: chat.UserDep, conversation_id: str) -> dict[str, Any]:
    """``GET /api/v1/conversations/{id}`` of the conversation the caller calls ``conversation_id``."""
    if not CLIENT_ID.match(conversation_id):
        raise ValidationFailed(f"conversation_id: {_BAD_ID}")
    store_id = client_conversation_id(user, conversation_id)
    try:
        detail = chat.get_conversation(ragd, user, store_id)
    except ConversationNotFound:
        raise ConversationNotFound(f"no conversation {conversation_id!r}") from None
    return {**detail.model_dump(), "id": conversation_id, "ragd_conversation_id": store_id}

