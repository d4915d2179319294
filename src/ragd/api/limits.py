"""Request bodies at the HTTP edge: a size cap per route class, and anonymous callers refused before their body.

FastAPI reads (and parses) a route's body before it resolves the route's dependencies, authentication included:
left alone, an anonymous caller could make the server hold any body it sends before the 401. This pure ASGI
middleware (no buffering: it only counts the bytes passing through ``receive``) sits in front of the router:

* a request carrying a body to a route that needs a caller (its dependencies include
  :func:`ragd.api.deps.current_actor`) but no credentials at all (no ``Authorization``, no ``X-API-Key``) is
  answered ``401`` at once, before a byte of its body is read, while authentication is on;
* every body is capped by its route's class: upload routes (marked with :func:`upload_route`) by
  ``limits.max_upload_request_mb``, every other route by ``limits.max_json_mb``. A ``Content-Length`` above the
  cap is answered ``413 payload_too_large`` at once; a body without one (chunked) is counted as it arrives and the
  request fails with the same 413 as soon as it passes the cap.

Requests with credentials that turn out to be wrong still have their body read before the 401, but never more of
it than the cap. Upload routes declare no body parameters, so FastAPI authenticates before they read anything.

:func:`check_chat` bounds what a chat request may ask the answer service to read (``limits.chat_*``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragd.api.deps import current_actor
from ragd.api.errors import PROBLEM
from ragd.config import LimitsSettings, Settings
from ragd.errors import InputTooLong, PayloadTooLarge, RagdError, Unauthorized

F = TypeVar("F", bound=Callable[..., Any])
# The schema's hard ceilings of a chat request (the settings limits.chat_* may only lower them).
CHAT_MESSAGES_CEILING = 200
CHAT_MESSAGE_CEILING = 20_000
_UPLOAD_MARK = "__ragd_upload_route__"
MIB = 1024 * 1024


def upload_route(endpoint: F) -> F:
    """Mark a route as an upload route: its body is capped by ``limits.max_upload_request_mb``."""
    setattr(endpoint, _UPLOAD_MARK, True)
    return endpoint


class _Refused(HTTPException):
    """Raised from ``receive``. An ``HTTPException`` too, so FastAPI's body reading lets it through (it turns any
    other exception into a 400); a ``RagdError`` first, so the app's handler renders it as that error."""

    def _http(self, status: int) -> None:
        self.status_code, self.headers = status, None


class BodyTooLarge(PayloadTooLarge, _Refused):
    def __init__(self, detail: str) -> None:
        PayloadTooLarge.__init__(self, detail)
        self._http(413)


class AnonymousBody(Unauthorized, _Refused):
    def __init__(self, detail: str) -> None:
        Unauthorized.__init__(self, detail)
        self._http(401)


@dataclass(frozen=True, slots=True)
class RouteClass:
    upload: bool
    protected: bool


def _needs_actor(dependant: Dependant) -> bool:
    return any(d.call is current_actor or _needs_actor(d) for d in dependant.dependencies)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.json_limit = int(settings.limits.max_json_mb * MIB)
        self.upload_limit = int(settings.limits.max_upload_request_mb * MIB)
        self.auth_enabled = settings.auth.enabled
        self._classes: dict[int, RouteClass] = {}  # by id of the route object: a fixed, small set

    def _classify(self, route: object) -> RouteClass:
        found = self._classes.get(id(route))
        if found is None:
            upload = bool(getattr(getattr(route, "endpoint", None), _UPLOAD_MARK, False))
            protected = isinstance(route, APIRoute) and _needs_actor(route.dependant)
            found = self._classes[id(route)] = RouteClass(upload, protected)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        raw_length = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if raw_length is None and not chunked:  # no body (RFC 9112 §6.3): nothing to cap
            await self.app(scope, receive, send)
            return
        length = int(raw_length) if raw_length is not None and raw_length.isdigit() else None
        anonymous = self.auth_enabled and not (headers.get("authorization") or headers.get("x-api-key"))
        limit = -1  # decided at the first read, once the router has matched the route
        setting = ""
        seen = 0
        started = False

        def first_read() -> None:
            nonlocal limit, setting
            kind = self._classify(scope.get("route"))
            if kind.protected and anonymous:  # the 401 the route's dependency would give, before the body
                try:
                    scope["app"].state.ragd.auth.authenticate(None, None)
                except Unauthorized as exc:
                    raise AnonymousBody(exc.detail) from None
            limit, setting = ((self.upload_limit, "RAGD_LIMITS__MAX_UPLOAD_REQUEST_MB") if kind.upload
                              else (self.json_limit, "RAGD_LIMITS__MAX_JSON_MB"))
            if length is not None and length > limit:
                raise BodyTooLarge(f"the request body is {length} bytes; this route accepts at most {limit} "
                                   f"({setting})")

        async def counted() -> Message:
            nonlocal seen
            if limit < 0:
                first_read()
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(f"the request body passed {limit} bytes, the most this route accepts "
                                       f"({setting})")
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _Refused as exc:  # raised where no handler turned it into a response
            if started:
                raise
            await _problem(send, exc)  # type: ignore[arg-type]


async def _problem(send: Send, exc: RagdError) -> None:
    """The problem+json response the app's error handler would send."""
    body = json.dumps(exc.to_problem()).encode()
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
    if exc.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="ragd"'))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def check_chat(texts: Sequence[str], limits: LimitsSettings) -> None:
    """Refuse a chat request carrying more than ``limits`` allow (422 ``input_too_long``): every message's text
    costs retrieval or generation work, so a conversation is bounded in messages, per message and in total."""
    if len(texts) > limits.chat_max_messages:
        raise InputTooLong(f"the request has {len(texts)} messages; at most {limits.chat_max_messages} are accepted "
                           "(RAGD_LIMITS__CHAT_MAX_MESSAGES)")
    for i, text in enumerate(texts):
        if len(text) > limits.chat_max_message_chars:
            raise InputTooLong(f"messages[{i}] has {len(text)} characters; at most {limits.chat_max_message_chars} "
                               "are accepted (RAGD_LIMITS__CHAT_MAX_MESSAGE_CHARS)")
    total = sum(len(t) for t in texts)
    if total > limits.chat_max_total_chars:
        raise InputTooLong(f"the messages hold {total} characters; at most {limits.chat_max_total_chars} are "
                           "accepted in one request (RAGD_LIMITS__CHAT_MAX_TOTAL_CHARS)")
