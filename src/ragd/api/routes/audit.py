"""The audit trail for a tenant's administrators: list and filter entries, fetch the public key that verifies
their signatures, verify the whole chain (docs/audit.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ragd.api.deps import AdminActor, OpsActor, RagdDep
from ragd.api.problems import AUTH, problems
from ragd.api.schemas import Offset
from ragd.audit.signing import key_id_of, public_key_b64, public_key_pem

router = APIRouter(prefix="/api/v1/admin/audit", tags=["audit"])


class AuditActorOut(BaseModel):
    user_id: str
    email: str
    role: str
    key_id: str | None


class AuditEntryOut(BaseModel):
    seq: int
    ts: float = Field(description="Epoch seconds.")
    tenant_id: str = Field(description="The tenant, or * for entries about every tenant (retention runs).")
    actor: AuditActorOut | None
    action: str
    target: str | None
    details: dict[str, Any]
    decision: dict[str, Any] | None = Field(description="The signed decision record of an answered question.")
    prev_hash: str
    hash: str
    signature: str = Field(description="Base64 Ed25519 signature over the decision and the hash.")
    key_id: str


class AuditList(BaseModel):
    entries: list[AuditEntryOut]
    total: int
    limit: int
    offset: int


class PublicKeyOut(BaseModel):
    algorithm: str = "Ed25519"
    key_id: str
    public_key: str = Field(description="Base64 of the raw 32-byte public key.")
    pem: str = Field(description="The same key as a SubjectPublicKeyInfo PEM block.")


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None


@router.get("", response_model=AuditList, responses=problems(*AUTH))
def list_audit(
    ragd: RagdDep,
    actor: AdminActor,
    action: Annotated[str | None, Query(max_length=200, description="Exact action, or a prefix ending in *.")] = None,
    actor_filter: Annotated[str | None, Query(alias="actor", max_length=320, description="User id or e-mail.")] = None,
    since: Annotated[float | None, Query(description="Entries at or after (epoch seconds).")] = None,
    until: Annotated[float | None, Query(description="Entries before (epoch seconds).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> AuditList:
    """The caller's tenant's entries (and those about every tenant), newest first."""
    page, total = ragd.audit.list(
        actor.tenant_id, action=action, actor=actor_filter, since=since, until=until, limit=limit, offset=offset
    )
    return AuditList(
        entries=[AuditEntryOut.model_validate(e.to_dict()) for e in page], total=total, limit=limit, offset=offset
    )


@router.get("/public-key", response_model=PublicKeyOut, responses=problems(*AUTH))
def public_key(ragd: RagdDep, actor: AdminActor) -> PublicKeyOut:
    """The key that verifies the entries' signatures (give it to auditors: `ragd audit verify --public-key`)."""
    key = ragd.audit.public_key
    return PublicKeyOut(key_id=key_id_of(key), public_key=public_key_b64(key), pem=public_key_pem(key))


@router.post("/verify", response_model=VerifyOut, responses=problems(*AUTH))
def verify(ragd: RagdDep, actor: OpsActor) -> VerifyOut:
    """Check the whole chain: every entry's hash, its link to the previous one and its signature, and the signed
    head. ``ok`` false names the first bad entry and why."""
    return VerifyOut.model_validate(ragd.audit.verify().to_dict())
