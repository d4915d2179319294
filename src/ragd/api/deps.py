"""Named dependencies keep routes short: ``RagdDep`` (the instance), ``CurrentActor`` (who is calling, after
authentication and rate limiting) and ``require(action)`` (who is calling, if they may do ``action``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ragd.auth.actor import LOCAL_ACTOR, Actor
from ragd.auth.policy import authorize
from ragd.core import Ragd
from ragd.errors import ValidationFailed

# Declared as security schemes so that the OpenAPI document (and its "Authorize" button) shows them; they never
# reject on their own (auto_error=False): the auth service decides.
_bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/login, or an API key.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (ragd_…).")


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, and
# each such hop costs a thread hand-off on every request. ``current_actor`` reads the identity store and the rate
# limiter (SQLite or Redis), so it stays in the pool, off the event loop.
async def _ragd(request: Request) -> Ragd:
    return request.app.state.ragd


RagdDep = Annotated[Ragd, Depends(_ragd)]


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` declares, its dependencies' included (a few objects: no cache needed)."""
    names: set[str] = set()
    todo = [route.dependant]
    while todo:
        dependant = todo.pop()
        names.update(p.alias for p in dependant.query_params)
        todo.extend(dependant.dependencies)
    return frozenset(names)


async def single_query_values(request: Request) -> None:
    """Every query parameter of the API takes one value: a declared one given twice is a 422, not silently cut to
    its last value (installed on the whole app)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    for name in _query_names(route):
        if len(request.query_params.getlist(name)) > 1:
            raise ValidationFailed(f"query parameter {name!r} is given more than once")


def current_actor(
    request: Request,
    ragd: RagdDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Actor:
    """The authenticated caller (the local admin while authentication is off), counted against their rate limit."""
    if not ragd.settings.auth.enabled:
        actor = LOCAL_ACTOR
    else:
        actor = ragd.auth.authenticate(bearer.credentials if bearer else None, api_key)
    request.state.actor = actor
    request.state.user_id = actor.user_id  # the access log line names who asked
    ragd.rate_limit(actor)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(action: str) -> Callable[..., Actor]:
    """A dependency returning the caller if they may perform ``action`` (see :mod:`ragd.auth.policy`)."""

    async def _dep(actor: CurrentActor) -> Actor:
        return authorize(actor, action)

    _dep.__name__ = f"require_{action.replace(':', '_')}"
    return _dep


AdminActor = Annotated[Actor, Depends(require("admin"))]
OpsActor = Annotated[Actor, Depends(require("ops"))]
ReaderActor = Annotated[Actor, Depends(require("documents:read"))]
WriterActor = Annotated[Actor, Depends(require("documents:write"))]
QueryActor = Annotated[Actor, Depends(require("query"))]
