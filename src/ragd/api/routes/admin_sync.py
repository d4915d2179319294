"""``GET /api/v1/admin/syncs``: the folders this server syncs (``sync.folders``) and how their last runs went."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ragd.api.deps import OpsActor, RagdDep
from ragd.api.problems import AUTH, problems

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class SyncStatusOut(BaseModel):
    path: str
    collection: str
    folder_id: str = Field(description="Empty until the first round.")
    runs: int = Field(description="Runs by this server process.")
    last_run_at: float | None
    last_duration_ms: float | None
    last_counts: dict[str, int] = Field(description="added, updated, moved, deleted, unchanged, skipped, failed.")
    last_error: str | None
    holder: bool = Field(description="Whether this process held the folder's lease at its last attempt (with "
                         "several replicas, another one runs the folder when false).")


class SyncStatusList(BaseModel):
    folders: list[SyncStatusOut]


@router.get("/syncs", response_model=SyncStatusList, responses=problems(*AUTH))
def sync_status(ragd: RagdDep, actor: OpsActor) -> SyncStatusList:
    """The configured folder syncs as this server process sees them (admins of the operator tenant: the paths are
    the server's)."""
    rows: list[dict[str, Any]] = [s.to_dict() for s in ragd.syncs.status]
    return SyncStatusList(folders=[SyncStatusOut(**row) for row in rows])
