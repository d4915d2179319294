"""One error body for every route: RFC 9457 problem+json with a stable ``code``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragd.api.headers import DEFAULT_HEADERS
from ragd.errors import RagdError, RateLimited, StoreUnavailable

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://ragd.dev/errors/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _audit_denied(request: Request, exc: RagdError) -> None:
    """Every refused access (403) of an authenticated caller is an ``access.denied`` audit event, in one place
    for every route (authorisation raises ``Forbidden`` from policy, access rules and services alike)."""
    actor = getattr(request.state, "actor", None)
    ragd = getattr(request.app.state, "ragd", None)
    if actor is None or ragd is None:
        return
    try:
        ragd.audit_event("access.denied", actor, target=request.url.path,
                         details={"method": request.method, "reason": exc.detail, "key_id": actor.key_id})
    except Exception:  # the refusal stands even if the audit log cannot be written; say so in the log
        log.exception("could not audit a denied access")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RagdError)
    async def _ragd(request: Request, exc: RagdError) -> JSONResponse:
        if exc.status == 403:
            await run_in_threadpool(_audit_denied, request, exc)
        headers: dict[str, str] = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="ragd"'
        if isinstance(exc, RateLimited | StoreUnavailable):
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(exc.to_problem(), status_code=exc.status, media_type=PROBLEM, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        return problem(422, "validation_error", "Validation error", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        title = code.replace("_", " ").capitalize()
        return problem(
            exc.status_code,
            code,
            title,
            str(exc.detail),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        response = problem(
            500, "internal_error", "Internal error", "an unexpected error occurred; it has been logged"
        )
        # Starlette sends this from its outermost middleware, outside SecurityHeadersMiddleware
        response.headers.update(DEFAULT_HEADERS)
        return response
