"""Sign-in: ``/api/v1/auth/login``, ``refresh``, ``logout``, ``me``, and the caller's own API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ragd.api.deps import CurrentActor, RagdDep, require
from ragd.api.problems import AUTH, BODY, problems
from ragd.auth.actor import LOCAL_ACTOR, LOCAL_TENANT, Actor
from ragd.auth.service import Session, key_out, user_out
from ragd.errors import InvalidCredentials, RateLimited

router = APIRouter(prefix="/api/v1", tags=["auth"])


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
    role: str | None = Field(None, description="admin, user, api_user or viewer; at most the owner's own rights. "
                             "Default api_user.")
    expires_days: float | None = Field(None, gt=0, le=3650)
    scopes: list[str] | None = Field(None, description="Only these actions (query, documents:read, "
                                     "documents:write, ...). Absent: everything the role allows.")


def session_out(s: Session) -> dict[str, Any]:
    return {"access_token": s.access_token, "token_type": "bearer", "expires_in": s.expires_in,
            "refresh_token": s.refresh_token, "user": user_out(s.user)}


@router.post("/auth/login", responses=problems(*BODY, 401, 429))
def login(ragd: RagdDep, body: LoginRequest, request: Request) -> dict[str, Any]:
    """Exchange an e-mail and password for a short-lived bearer access token and a refresh token."""
    email = body.username.strip().lower()
    # Every attempt counts against the account's sign-in budget: guessing a password stays slow.
    decision = ragd.limiter_hit(f"login:{email}", ragd.settings.auth.login_attempts_per_minute, 60.0)
    if decision is not None and not decision.allowed:
        raise RateLimited("too many sign-in attempts for this account; wait a minute",
                          retry_after=decision.retry_after)
    try:
        session = ragd.auth.login(body.username, body.password)
    except InvalidCredentials:
        # The attempt goes to the account's tenant (its admins see it), an unknown account's to the operators'.
        known = ragd.identities.get_user_by_email(email)
        ragd.audit_event("auth.login_failed", None, tenant_id=known.tenant_id if known else LOCAL_TENANT, target=email,
                         details={"client": request.client.host if request.client else None})
        raise
    actor = Actor(session.user.id, session.user.email, session.user.role,  # type: ignore[arg-type]
                  session.user.tenant_id)
    ragd.audit_event("auth.login", actor)
    return session_out(session)


@router.post("/auth/refresh", responses=problems(*BODY, 401, 429))
def refresh(ragd: RagdDep, body: RefreshRequest) -> dict[str, Any]:
    """A new access token and a new refresh token; the one presented is used up (presenting it again revokes the
    whole session)."""
    return session_out(ragd.auth.refresh(body.refresh_token))


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


@router.post("/auth/password", status_code=204, responses=problems(*AUTH, *BODY))
def change_password(ragd: RagdDep, actor: CurrentActor, body: PasswordChange) -> Response:
    """Change your own password (signed in with a token, not an API key). Other sessions stay valid until their
    access token expires; their refresh tokens keep working (sign out there to end them)."""
    if actor is LOCAL_ACTOR or actor.key_id is not None:
        raise InvalidCredentials("sign in with your password to change it")
    ragd.auth.change_password(actor.user_id, body.current_password, body.new_password)
    ragd.audit_event("auth.password_changed", actor, target=actor.user_id)
    if actor.email == "admin@localhost":
        (ragd.settings.data_dir / "initial-admin-password").unlink(missing_ok=True)
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
    key, secret = ragd.auth.create_key(owner, name=body.name, role=body.role, expires_days=body.expires_days,
                                       scopes=body.scopes)
    ragd.audit_event("key.created", actor, target=key.id, details={"role": key.role, "owner": owner.email})
    return {**key_out(key), "key": secret}


@router.delete("/keys/{key_id}", status_code=204, responses=problems(*AUTH, 404))
def revoke_key(ragd: RagdDep, actor: CurrentActor, key_id: str) -> Response:
    """Revoke one of your keys (admins: any key of their tenant)."""
    key = ragd.auth.revoke_key(actor, key_id)
    ragd.audit_event("key.revoked", actor, target=key.id, details={"owner": key.email})
    return Response(status_code=204)
