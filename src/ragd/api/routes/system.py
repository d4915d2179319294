"""Health and administration."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from ragd import __version__
from ragd.api.deps import AdminActor, OpsActor, RagdDep
from ragd.api.problems import AUTH, problems
from ragd.api.schemas import RebuildResponse
from ragd.auth.policy import allowed

router = APIRouter(prefix="/api/v1", tags=["system"])


@router.get("/health")
def health(ragd: RagdDep) -> dict[str, Any]:
    """Liveness: cheap, no I/O beyond memory."""
    return {
        "status": "ok",
        "version": __version__,
        "embedding_model": ragd.embedder.name,
        "vectors": len(ragd.index),
    }


@router.post("/admin/rebuild-index", response_model=RebuildResponse, responses=problems(*AUTH))
def rebuild_index(ragd: RagdDep, actor: OpsActor) -> RebuildResponse:
    """Rebuild the derived dense index from the store (the lexical index lives inside the store)."""
    t0 = time.perf_counter()
    n = ragd.rebuild_index()
    return RebuildResponse(vectors=n, took_ms=round((time.perf_counter() - t0) * 1000, 1))


@router.get("/admin/stats", responses=problems(*AUTH))
def stats(ragd: RagdDep, actor: AdminActor) -> dict[str, Any]:
    """Your tenant's document count; for operators (admins of the ``default`` tenant) also the sizes of the whole
    store and the derived indexes, and whether they agree."""
    _, tenant_docs = ragd.store.list_documents(tenant_id=actor.tenant_id, limit=0)
    out: dict[str, Any] = {"version": __version__, "tenant_documents": tenant_docs,
                           "embedding_model": ragd.embedder.name}
    if not allowed(actor, "ops"):
        return out
    ragd.index.sync(ragd.store)
    chunks = ragd.store.count_chunks()
    return {
        **out,
        "chunks": chunks,
        "vectors": len(ragd.index),
        "consistent": chunks == len(ragd.index),
        "queue_depth": ragd.store.queue_depth(),
        "embedding_dim": ragd.embedder.dim,
        "index_bytes": _size(ragd.settings.data_dir / "index"),
        "store_bytes": sum(_size(p) for p in ragd.settings.data_dir.glob("ragd.sqlite3*")),
        "files_bytes": _size(ragd.settings.data_dir / "files"),
    }


def _size(path: Path) -> int:
    """Bytes under ``path`` (a file or a directory; 0 if absent)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
