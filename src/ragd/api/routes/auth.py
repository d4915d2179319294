"""Sign-in: ``/api/v1/auth/login``, ``refresh``, ``logout``, ``me``, and the caller's own API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ragd.api.deps import CurrentActor, RagdDep, require
from ragd.api.problems import AUTH, BODY, problems
from ragd.auth.actor import LOCAL_ACTOR, LOCAL_TENANT, Actor
from ragd.auth.ratelimit import Decision, check_login
from ragd.auth.service import Session, key_out, user_out
from ragd.errors import InvalidCredentials, RateLimited, RefreshTokenReused

router = APIRouter(prefix="/api/v1", tags=["auth"])
_ALLOWED = Decision(True, 0, 0.0)  # what limiter_hit stands for when rate limiting is off


def client_address(request: Request) -> str:
    """The caller's address: the TCP peer, or what a trusted proxy forwarded (``server.trusted_proxies``)."""
    return request.client.host if request.client else "unknown"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    username: str = Field(..., min_length=3, max_length=320, description="The user's e-mail.")
    password: str = Field(..., min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    refresh_token: str = Field(..., min_length=10, max_length=200)


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field("", max_length=100)
    role: str | None = Field(None, description="admin, user, api_user or viewer; at most the rights of the owner "
                             "and of the credential creating it. Default api_user.")
    expires_days: float | None = Field(None, gt=0, le=3650, description="Absent: never expires. A key created "
                                       "by an expiring key must expire no later than it.")
    scopes: list[str] | None = Field(None, description="Only these actions (query, documents:read, "
                                     "documents:write, ...). Absent: everything the role allows. A key created "
                                     "by a scoped key needs scopes among that key's.")


def session_out(s: Session) -> dict[str, Any]:
    return {"access_token": s.access_token, "token_type": "bearer", "expires_in": s.expires_in,
            "refresh_token": s.refresh_token, "user": user_out(s.user)}


@router.post("/auth/login", responses=problems(*BODY, 401, 429))
def login(ragd: RagdDep, body: LoginRequest, request: Request) -> dict[str, Any]:
    """Exchange an e-mail and password for a short-lived bearer access token and a refresh token. Attempts are
    throttled per client address, per address and account, and (a high ceiling) per account: docs/security.md."""
    email = body.username.strip().lower()
    address = client_address(request)
    try:
        if ragd.limiter is not None:
            check_login(ragd.limiter, ragd.settings, address, email)
        session = ragd.auth.login(body.username, body.password)
    except (InvalidCredentials, RateLimited) as exc:
        # The attempt goes to the account's tenant (its admins see it), an unknown account's to the operators'.
        known = ragd.identities.get_user_by_email(email)
        tenant = known.tenant_id if known else LOCAL_TENANT
        if isinstance(exc, InvalidCredentials):
            ragd.audit_event("auth.login_failed", None, tenant_id=tenant, target=email,
                             details={"client": address})
        # At most one audit entry per address and minute while throttled: a flood must not flood the log.
        elif (ragd.limiter_hit(f"audit-login-throttled:{address}", 1, 60.0) or _ALLOWED).allowed:
            ragd.audit_event("auth.login_throttled", None, tenant_id=tenant, target=email,
                             details={"client": address, "reason": exc.detail})
        raise
    actor = Actor(session.user.id, session.user.email, session.user.role,  # type: ignore[arg-type]
                  session.user.tenant_id)
    ragd.audit_event("auth.login", actor, details={"client": address})
    return session_out(session)


@router.post("/auth/refresh", responses=problems(*BODY, 401, 429))
def refresh(ragd: RagdDep, body: RefreshRequest, request: Request) -> dict[str, Any]:
    """A new access token and a new refresh token; the one presented is used up (presenting it again revokes the
    whole session, and is audited)."""
    try:
        return session_out(ragd.auth.refresh(body.refresh_token))
    except RefreshTokenReused as exc:
        user = ragd.identities.get_user(exc.user_id)
        ragd.audit_event("auth.refresh_replayed", None, tenant_id=user.tenant_id if user else LOCAL_TENANT,
                         target=exc.user_id, details={"client": client_address(request),
                                                      "email": user.email if user else None})
        raise


@router.post("/auth/logout", status_code=204, responses=problems(*BODY, 401, 429))
def logout(ragd: RagdDep, body: RefreshRequest) -> Response:
    ragd.auth.logout(body.refresh_token)
    return Response(status_code=204)


@router.get("/auth/me", responses=problems(*AUTH))
def me(ragd: RagdDep, actor: CurrentActor) -> dict[str, Any]:
    """Who the caller is. Works with authentication off (the local admin)."""
    enabled = ragd.settings.auth.enabled
    if not enabled or actor is LOCAL_ACTOR:
        user = {"id": actor.user_id, "email": actor.email, "role": actor.role, "tenant": actor.tenant_id,
                "disabled": False, "created_at": None, "groups": []}
    else:
        user = user_out(ragd.auth.user(actor.user_id))
        user["role"] = actor.role  # an API key acts with its own role
    return {"auth_enabled": enabled, "user": user, "key_id": actor.key_id,
            "scopes": sorted(actor.scopes) if actor.scopes is not None else None}


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    current_password: str = Field(..., min_length=1, max_length=1024)
    new_password: str = Field(..., min_length=1, max_length=1024)


@router.post("/auth/password", responses=problems(*AUTH, *BODY))
def change_password(ragd: RagdDep, actor: CurrentActor, body: PasswordChange) -> dict[str, Any]:
    """Change your own password (signed in with a token, not an API key). Every session of yours ends, on every
    device (their access tokens are refused at once, their refresh tokens revoked); the answer is a fresh
    session for this caller, as from a login. Your API keys stay valid (revoke them separately)."""
    if actor is LOCAL_ACTOR or actor.key_id is not None:
        raise InvalidCredentials("sign in with your password to change it")
    session = ragd.auth.change_password(actor.user_id, body.current_password, body.new_password)
    ragd.audit_event("auth.password_changed", actor, target=actor.user_id)
    ragd.audit_event("auth.sessions_ended", actor, target=actor.user_id, details={"reason": "password_changed"})
    if actor.email == "admin@localhost":
        (ragd.settings.data_dir / "initial-admin-password").unlink(missing_ok=True)
    return session_out(session)


@router.delete("/auth/sessions", status_code=204, responses=problems(*AUTH))
def end_my_sessions(ragd: RagdDep, actor: CurrentActor) -> Response:
    """Sign out everywhere: every refresh token of yours is revoked and every access token issued until now
    (this one included) is refused. Needs a signed-in session, not an API key (keys are revoked one by one)."""
    if actor is LOCAL_ACTOR or actor.key_id is not None:
        raise InvalidCredentials("sign in with your password to end your sessions")
    revoked = ragd.auth.end_sessions(actor.user_id)
    ragd.audit_event("auth.sessions_ended", actor, target=actor.user_id,
                     details={"reason": "signed_out_everywhere", "refresh_tokens": revoked})
    return Response(status_code=204)


KeysActor = Annotated[Actor, Depends(require("keys:own"))]


@router.get("/keys", responses=problems(*AUTH))
def my_keys(ragd: RagdDep, actor: KeysActor) -> dict[str, Any]:
    return {"keys": [key_out(k) for k in ragd.identities.list_keys(user_id=actor.user_id)]}


@router.post("/keys", status_code=201, responses=problems(*AUTH, *BODY))
def create_my_key(ragd: RagdDep, actor: KeysActor, body: KeyRequest) -> dict[str, Any]:
    """Create an API key for yourself. The key is in the response once and never again."""
    owner = ragd.auth.user(actor.user_id) if actor is not LOCAL_ACTOR else None
    if owner is None:
        raise InvalidCredentials("API keys belong to users: turn authentication on and sign in")
    key, secret = ragd.auth.create_key(owner, creator=actor, name=body.name, role=body.role,
                                       expires_days=body.expires_days, scopes=body.scopes)
    ragd.audit_event("key.created", actor, target=key.id, details={"role": key.role, "owner": owner.email})
    return {**key_out(key), "key": secret}


@router.delete("/keys/{key_id}", status_code=204, responses=problems(*AUTH, 404))
def revoke_key(ragd: RagdDep, actor: KeysActor, key_id: str) -> Response:
    """Revoke one of your keys (admins: any key of their tenant). A key needs the ``keys:own`` scope."""
    key = ragd.auth.revoke_key(actor, key_id)
    ragd.audit_event("key.revoked", actor, target=key.id, details={"owner": key.email})
    return Response(status_code=204)
