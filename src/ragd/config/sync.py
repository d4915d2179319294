"""``sync.*``: folders that ``ragd serve`` keeps in step with collections itself (:mod:`ragd.ingest.sync_service`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class SyncFolder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="The folder (absolute path on the server).")
    collection: str | None = Field(None, description="The collection that mirrors it (default: the default one).")
    interval_s: float = Field(300.0, ge=1, description="Seconds between two syncs.")
    watch: bool = Field(False, description="Also sync as soon as files change (watchfiles), besides the interval.")


class SyncSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    folders: list[SyncFolder] = Field(
        default_factory=list, description="Folders `ragd serve` syncs in the background, as JSON: "
        '[{"path": "/srv/share", "collection": "share", "interval_s": 300, "watch": false}]. With several '
        "replicas on one PostgreSQL database, one replica at a time runs a given folder (a lease in the store)."
    )
    lease_s: float = Field(600.0, ge=10, description="How long a replica's claim on a folder's sync lasts without "
                           "being renewed (a replica that died is replaced after this).")
