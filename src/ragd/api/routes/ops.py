"""Operations: Prometheus metrics, readiness, backups and the consistency report."""

from __future__ import annotations

import ipaddress
import re
import secrets
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from ragd.api.deps import OpsActor, RagdDep
from ragd.api.problems import AUTH, problems
from ragd.errors import Forbidden, NotFound, Unauthorized
from ragd.ops.backup import create_backup, verify_backup
from ragd.ops.doctor import run_doctor
from ragd.ops.readiness import readiness

router = APIRouter(tags=["operations"])
_BACKUP_NAME = re.compile(r"^ragd-backup-[0-9TZ-]+(-\d+)?\.(tar\.gz|zip)$")


def _backups_dir(ragd: Any) -> Path:
    return ragd.settings.data_dir / "backups"


_FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")


def from_loopback(request: Request) -> bool:
    """Whether the request comes from this machine itself: a loopback peer address, and no proxy header saying it
    was forwarded for someone else (a reverse proxy on the same machine connects from loopback)."""
    if any(h in request.headers for h in _FORWARDED):
        return False
    try:
        address = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


@router.get("/metrics", response_class=Response, responses={
    200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition."}, **problems(401, 403, 404)})
def metrics(ragd: RagdDep, request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus text exposition. With ``RAGD_METRICS__TOKEN`` set, needs ``Authorization: Bearer <token>``;
    without, it answers only clients on this machine (loopback, not forwarded by a proxy): 403 to anyone else."""
    settings = ragd.settings.metrics
    if not settings.enabled:
        raise NotFound("metrics are disabled (RAGD_METRICS__ENABLED=false)")
    if settings.token is not None:
        expected = f"Bearer {settings.token.get_secret_value()}".encode()
        if not secrets.compare_digest((authorization or "").encode(), expected):
            raise Unauthorized("GET /metrics needs 'Authorization: Bearer <RAGD_METRICS__TOKEN>'")
    elif not from_loopback(request):
        raise Forbidden("GET /metrics answers only this machine (loopback) until RAGD_METRICS__TOKEN is set; set "
                        "it and send 'Authorization: Bearer <token>'")
    body, content_type = ragd.obs.metrics.exposition()
    return Response(body, media_type=content_type)


@router.get("/api/v1/ready", responses={503: {"description": "Not ready: the same body, with the failing checks."}})
def ready(ragd: RagdDep) -> JSONResponse:
    """Readiness: each check with its status; 503 when any fails (take the instance out of rotation)."""
    body = readiness(ragd)
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


@router.post("/api/v1/admin/backup", status_code=201, responses=problems(*AUTH, 404))
async def backup(ragd: RagdDep, actor: OpsActor, format: str = "tar.gz") -> dict[str, Any]:
    """Write a backup archive into ``DATA_DIR/backups`` while serving; returns its file name."""
    if format not in ("tar.gz", "zip"):
        raise NotFound(f"unknown backup format {format!r}: use tar.gz or zip")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    directory = _backups_dir(ragd)
    dest = directory / f"ragd-backup-{stamp}.{format}"
    n = 1
    while dest.exists():
        dest = directory / f"ragd-backup-{stamp}-{n}.{format}"
        n += 1
    result = await run_in_threadpool(create_backup, ragd.settings, dest)
    return {"file": dest.name, "size": result.size, "documents": result.documents, "chunks": result.chunks,
            "files": result.files, "missing_files": result.missing_files, "took_ms": result.took_ms}


@router.get("/api/v1/admin/backups", responses=problems(*AUTH))
def list_backups(ragd: RagdDep, actor: OpsActor) -> dict[str, Any]:
    directory = _backups_dir(ragd)
    files = sorted(directory.glob("ragd-backup-*"), reverse=True) if directory.is_dir() else []
    found = [{"file": p.name, "size": p.stat().st_size} for p in files if _BACKUP_NAME.match(p.name)]
    return {"backups": found}


def _backup_path(ragd: Any, name: str) -> Path:
    path = _backups_dir(ragd) / name
    if not _BACKUP_NAME.match(name) or not path.is_file():
        raise NotFound(f"no backup {name!r}")
    return path


@router.get("/api/v1/admin/backups/{name}", response_class=FileResponse, responses={
    200: {"content": {"application/octet-stream": {}}, "description": "The archive."}, **problems(*AUTH, 404)})
def download_backup(ragd: RagdDep, actor: OpsActor, name: str) -> FileResponse:
    return FileResponse(_backup_path(ragd, name), filename=name, media_type="application/octet-stream")


@router.post("/api/v1/admin/backups/{name}/verify", responses=problems(*AUTH, 404))
async def verify(ragd: RagdDep, actor: OpsActor, name: str) -> dict[str, Any]:
    """Check every member of a backup against its manifest's sha256 and the database's integrity."""
    manifest = await run_in_threadpool(verify_backup, _backup_path(ragd, name))
    return {"file": name, "ok": True, "store": manifest["store"], "members": len(manifest["members"])}


@router.get("/api/v1/admin/doctor", responses=problems(*AUTH))
async def doctor(ragd: RagdDep, actor: OpsActor) -> dict[str, Any]:
    """The report of ``ragd doctor`` (store, dense and lexical indexes, files, jobs), without repairs."""
    return await run_in_threadpool(run_doctor, ragd.settings, store=ragd.store, files=ragd.files)
