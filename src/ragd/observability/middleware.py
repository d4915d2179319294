"""One ASGI middleware per request: request id, log context, access log line, HTTP metrics.

* ``X-Request-ID``: taken from the request when it is a sane token (letters, digits, ``._-``, ≤ 128 chars),
  generated otherwise, bound to the log context for everything the request causes, echoed in the response.
* Metrics: ``rag_requests_total{method,route,status}`` and ``rag_request_duration_seconds`` by *route
  template* (``/api/v1/documents/{doc_id}``, never the raw path, so ids cannot explode the label set; unknown
  paths count as ``unmatched``), ``rag_active_connections`` in flight, and ``rag_errors_total{code}`` from the
  stable code of every problem+json error body.
* One structured ``request`` log line with method, route, status, latency and the user id when authentication
  set one on ``request.state.user_id``. Probes (health, ready, metrics) log at debug level.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragd.observability.logging import get_logger

_RID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_QUIET = {"/api/v1/health", "/api/v1/ready", "/metrics"}
_MAX = 64 * 1024  # bytes of a problem+json body read for its code
log = get_logger("ragd.access")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _RID.match(text):
                return text
    return uuid.uuid4().hex


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_from(scope.get("headers", []))
        ragd = getattr(scope["app"].state, "ragd", None) if "app" in scope else None
        metrics = ragd.obs.metrics if ragd is not None else None
        state: dict[str, Any] = {"status": 500, "problem": None, "body": b""}

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                state["problem"] = headers.get("content-type", "").startswith("application/problem+json")
            elif message["type"] == "http.response.body" and state["problem"] and len(state["body"]) < _MAX:
                state["body"] += message.get("body", b"")
            await send(message)

        t0 = time.perf_counter()
        code: str | None = None
        with structlog.contextvars.bound_contextvars(request_id=rid):
            if metrics is not None:
                metrics.active.inc()
            try:
                await self.app(scope, receive, send_)
            except Exception:
                state["status"], code = 500, "internal_error"
                raise
            finally:
                elapsed = time.perf_counter() - t0
                route_obj = scope.get("route")
                route = getattr(route_obj, "path", None) or "unmatched"
                if code is None and state["problem"]:
                    code = _problem_code(state["body"])
                if metrics is not None:
                    metrics.active.dec()
                    metrics.request(scope["method"], route, state["status"], elapsed)
                    if code:
                        metrics.error(code)
                if self.access_log:
                    user = getattr(scope.get("state", {}), "get", lambda _k: None)("user_id")
                    emit = log.debug if route in _QUIET else log.info
                    emit("request", method=scope["method"], route=route, status=state["status"],
                         duration_ms=round(elapsed * 1000, 2), user_id=user, error_code=code)


def _problem_code(body: bytes) -> str | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    code = value.get("code") if isinstance(value, dict) else None
    return str(code) if code else None
