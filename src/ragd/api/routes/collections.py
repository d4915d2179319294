"""Collections and their sharing: ``/api/v1/collections``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ragd.api.deps import CurrentActor, RagdDep, ReaderActor
from ragd.api.problems import AUTH, BODY, problems
from ragd.auth.access import collection_out
from ragd.auth.actor import Actor
from ragd.auth.identities import Collection
from ragd.core import Ragd

router = APIRouter(prefix="/api/v1/collections", tags=["collections"])

_NAME = r"^[\w.\- ]+$"


class CollectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(..., min_length=1, max_length=200, pattern=_NAME)
    tenant_access: Literal["read", "write"] | None = Field(
        None, description="Give every member of the tenant this access. Absent: private to you (and your grants).")


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    principal_type: Literal["user", "group"]
    principal: str = Field(..., min_length=1, max_length=320, description="An e-mail, or a group name.")
    access: Literal["read", "write"]


class GrantsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    grants: list[GrantIn] = Field(default_factory=list, max_length=1_000, description="At most 1,000 "
                                  "(share with a group beyond that).")
    tenant_access: Literal["read", "write", "none"] | None = Field(
        None, description="Change tenant-wide access too: read, write, or none. Absent: unchanged.")


def _out(ragd: Ragd, actor: Actor, coll: Collection) -> dict[str, Any]:
    _, total = ragd.store.list_documents(tenant_id=actor.tenant_id, collection=coll.name, limit=0)
    return collection_out(coll, ragd.access.access(actor, coll.name), total, ragd.settings.privacy)


@router.get("", responses=problems(*AUTH))
def list_collections(ragd: RagdDep, actor: ReaderActor) -> dict[str, Any]:
    """The collections you may read, with your access on each (a key needs the ``documents:read`` scope)."""
    return {"collections": [_out(ragd, actor, c) for c in ragd.access.list(actor)]}


@router.post("", status_code=201, responses=problems(*AUTH, *BODY, 409))
def create_collection(ragd: RagdDep, actor: CurrentActor, body: CollectionCreate) -> dict[str, Any]:
    coll = ragd.access.create(actor, body.name, body.tenant_access)
    ragd.audit_event("collection.created", actor, target=coll.name, details={"tenant_access": body.tenant_access})
    return _out(ragd, actor, coll)


@router.get("/{name}", responses=problems(*AUTH, 404))
def get_collection(ragd: RagdDep, actor: CurrentActor, name: str) -> dict[str, Any]:
    return _out(ragd, actor, ragd.access.get(actor, name))


@router.put("/{name}/grants", responses=problems(*AUTH, *BODY, 404))
def share(ragd: RagdDep, actor: CurrentActor, name: str, body: GrantsIn) -> dict[str, Any]:
    """Replace who the collection is shared with (owner or admin)."""
    tenant_access: Any = "keep" if body.tenant_access is None else (
        None if body.tenant_access == "none" else body.tenant_access)
    coll = ragd.access.share(actor, name, [g.model_dump() for g in body.grants], tenant_access)
    ragd.audit_event("collection.shared", actor, target=name, details={
        "grants": [g.model_dump() for g in body.grants], "tenant_access": coll.tenant_access})
    return _out(ragd, actor, coll)


class PrivacyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    redact_ingest: bool | None = Field(None, description="Redact PII from documents ingested from now on (and "
                                       "re-indexed ones). null: follow RAGD_PRIVACY__REDACT_INGEST.")
    redact_answers: bool | None = Field(None, description="Redact PII in answers, citations and passages drawn "
                                        "from this collection. null: follow RAGD_PRIVACY__REDACT_ANSWERS.")


@router.put("/{name}/privacy", responses=problems(*AUTH, *BODY, 404))
def set_privacy(ragd: RagdDep, actor: CurrentActor, name: str, body: PrivacyIn) -> dict[str, Any]:
    """Per-collection PII redaction (owner or admin; docs/privacy.md)."""
    coll = ragd.access.set_privacy(actor, name, redact_ingest=body.redact_ingest,
                                   redact_answers=body.redact_answers)
    ragd.audit_event("collection.privacy_changed", actor, target=name, details=body.model_dump())
    return _out(ragd, actor, coll)


@router.delete("/{name}", status_code=204, responses=problems(*AUTH, 404, 409))
def delete_collection(ragd: RagdDep, actor: CurrentActor, name: str) -> Response:
    """Delete the collection and every document in it (owner or admin)."""
    ragd.delete_collection(actor, name)  # documents, grants, row and audit entry: one transaction
    return Response(status_code=204)
