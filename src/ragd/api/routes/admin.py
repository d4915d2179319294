"""Tenant administration: users, groups and the tenant's API keys (admins, inside their own tenant only); the
ingestion queues (``/admin/jobs``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ragd.api.deps import AdminActor, RagdDep
from ragd.api.problems import AUTH, BODY, problems
from ragd.api.routes.auth import KeyRequest
from ragd.api.schemas import Offset
from ragd.auth.identities import Group
from ragd.auth.policy import allowed, authorize
from ragd.auth.service import key_out, user_out
from ragd.errors import NotFound
from ragd.jobs.overview import mode, overview, tenant_usage

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    email: str = Field(..., max_length=320)
    password: str = Field(..., max_length=1024)
    role: str = Field("user", description="admin, user, api_user or viewer.")
    tenant: str | None = Field(None, max_length=63, description="Another tenant (created if new): operators only "
                               "(admins of the default tenant). Absent: your tenant.")


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    role: str | None = None
    disabled: bool | None = None
    password: str | None = Field(None, max_length=1024)


class AdminKeyRequest(KeyRequest):
    email: str = Field(..., max_length=320, description="The user (of your tenant) the key acts as.")


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(..., min_length=1, max_length=100, pattern=r"^[\w.\- ]+$")
    members: list[str] = Field(default_factory=list, max_length=2_000, description="E-mails (at most 2,000: "
                               "the list must fit the 1 MiB body cap, RAGD_LIMITS__MAX_JSON_MB).")


@router.get("/users", responses=problems(*AUTH))
def list_users(
    ragd: RagdDep, actor: AdminActor, limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Offset = 0
) -> dict[str, Any]:
    users, total = ragd.identities.list_users(actor.tenant_id, limit=limit, offset=offset)
    return {"users": [user_out(u) for u in users], "total": total}


@router.post("/users", status_code=201, responses=problems(*AUTH, *BODY, 404, 409))
def create_user(ragd: RagdDep, actor: AdminActor, body: UserCreate) -> dict[str, Any]:
    tenant = body.tenant or actor.tenant_id
    if tenant != actor.tenant_id:
        authorize(actor, "ops")
    user = ragd.auth.create_user(body.email, body.password, body.role, tenant)
    ragd.audit_event("user.created", actor, target=user.id, details={"email": user.email, "role": user.role})
    return user_out(user)


@router.patch("/users/{user_id}", responses=problems(*AUTH, *BODY, 404, 409))
def update_user(ragd: RagdDep, actor: AdminActor, user_id: str, body: UserPatch) -> dict[str, Any]:
    """Change a user's role, password or disabled flag. A password reset, disabling and a role change end all the
    user's sessions (signed-in devices sign in again)."""
    user, ended = ragd.auth.update_user(actor, user_id, role=body.role, disabled=body.disabled,
                                        password=body.password)
    changes = body.model_dump(exclude_none=True, exclude={"password"})
    if body.password:
        changes["password"] = "changed"
    ragd.audit_event("user.updated", actor, target=user.id, details={"email": user.email, **changes})
    if ended is not None:
        ragd.audit_event("auth.sessions_ended", actor, target=user.id, details={"email": user.email,
                                                                                "reason": ended})
    return user_out(user)


@router.delete("/users/{user_id}/sessions", status_code=204, responses=problems(*AUTH, 404))
def end_user_sessions(ragd: RagdDep, actor: AdminActor, user_id: str) -> Response:
    """Sign a user of your tenant out everywhere: refresh tokens revoked, access tokens refused at once. Their
    API keys are separate credentials (revoke them with DELETE /api/v1/keys/{id})."""
    user = ragd.auth.user(user_id, actor.tenant_id)
    revoked = ragd.auth.end_sessions(user.id)
    ragd.audit_event("auth.sessions_ended", actor, target=user.id,
                     details={"email": user.email, "reason": "admin", "refresh_tokens": revoked})
    return Response(status_code=204)


@router.get("/groups", responses=problems(*AUTH))
def list_groups(ragd: RagdDep, actor: AdminActor) -> dict[str, Any]:
    return {"groups": [{"id": g.id, "name": g.name, "members": g.members}
                       for g in ragd.identities.list_groups(actor.tenant_id)]}


@router.post("/groups", status_code=201, responses=problems(*AUTH, *BODY, 404, 409))
def create_group(ragd: RagdDep, actor: AdminActor, body: GroupCreate) -> dict[str, Any]:
    members = [ragd.auth.user_by_email(e, actor.tenant_id).id for e in body.members]
    group = ragd.identities.add_group(Group("g_" + uuid.uuid4().hex[:20], actor.tenant_id, body.name.strip()),
                                      members)
    ragd.audit_event("group.created", actor, target=group.id, details={"name": group.name,
                                                                       "members": group.members})
    return {"id": group.id, "name": group.name, "members": group.members}


@router.put("/groups/{name}/members", responses=problems(*AUTH, *BODY, 404))
def set_members(ragd: RagdDep, actor: AdminActor, name: str, body: GroupCreate) -> dict[str, Any]:
    group = ragd.identities.get_group(actor.tenant_id, name)
    if group is None:
        raise NotFound(f"no group {name!r}")
    ragd.identities.set_group_members(group.id, [ragd.auth.user_by_email(e, actor.tenant_id).id
                                                 for e in body.members])
    group = ragd.identities.get_group(actor.tenant_id, name) or group
    ragd.audit_event("group.members_changed", actor, target=group.id, details={"members": group.members})
    return {"id": group.id, "name": group.name, "members": group.members}


@router.get("/keys", responses=problems(*AUTH))
def list_keys(ragd: RagdDep, actor: AdminActor) -> dict[str, Any]:
    return {"keys": [key_out(k) for k in ragd.identities.list_keys(tenant_id=actor.tenant_id)]}


@router.post("/keys", status_code=201, responses=problems(*AUTH, *BODY, 404))
def create_key(ragd: RagdDep, actor: AdminActor, body: AdminKeyRequest) -> dict[str, Any]:
    owner = ragd.auth.user_by_email(body.email, actor.tenant_id)
    key, secret = ragd.auth.create_key(owner, creator=actor, name=body.name, role=body.role,
                                       expires_days=body.expires_days, scopes=body.scopes)
    ragd.audit_event("key.created", actor, target=key.id, details={"role": key.role, "owner": owner.email})
    return {**key_out(key), "key": secret}


class BrokerOut(BaseModel):
    reachable: bool = Field(description="Whether the broker answered (short timeouts; false, never an error).")
    messages: dict[str, int] = Field(description="Messages waiting in each queue's broker queue (ragd.<queue>); "
                                     "empty when unreachable.")


class TenantJobsOut(BaseModel):
    active_jobs: int = Field(description="Your tenant's ingestion jobs queued or running.")
    max_queued: int | None = Field(description="jobs.max_queued_per_tenant (null: no limit); above it, uploads "
                                   "and re-indexing get 429 queue_full.")


class JobsOut(BaseModel):
    mode: str = Field(description="embedded (in-process workers) or celery (ragd worker processes, a broker).")
    tenant: TenantJobsOut
    queues: dict[str, dict[str, int]] | None = Field(
        None, description="Operators: jobs by queue (interactive, bulk) and state (queued, running, done, failed).")
    oldest_queued_s: dict[str, float] | None = Field(
        None, description="Operators: age of the oldest queued job of each queue, seconds (0: none queued).")
    broker: BrokerOut | None = Field(None, description="Operators, celery mode: the broker's queues; null when "
                                     "embedded.")


@router.get("/jobs", response_model=JobsOut, response_model_exclude_unset=True, responses=problems(*AUTH))
def jobs(ragd: RagdDep, actor: AdminActor) -> JobsOut:
    """The ingestion queues. Admins see the mode and their tenant's jobs against its limit; operators (admins of
    the ``default`` tenant) also the whole store's jobs by queue and state, the oldest queued job's age and, in
    celery mode, the messages waiting in the broker (whose reachability never fails the request)."""
    tenant = TenantJobsOut(**tenant_usage(ragd.store, ragd.settings, actor.tenant_id))
    if not allowed(actor, "ops"):
        return JobsOut(mode=mode(ragd.settings), tenant=tenant)
    return JobsOut(tenant=tenant, **overview(ragd.store, ragd.settings))
