"""Documents: upload, list, show, text, download, re-index, delete."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from ragd.api.deps import RagdDep, ReaderActor, WriterActor
from ragd.api.limits import upload_route
from ragd.api.problems import AUTH, BODY, problems
from ragd.api.schemas import COLLECTION_NAME, DocumentList, DocumentOut, Offset, UploadResponse
from ragd.api.uploads import SpooledFile, UploadForm, read_upload, spool_dir
from ragd.auth.actor import Actor
from ragd.core import Ragd
from ragd.errors import BadRequest, NotFound, ValidationFailed
from ragd.ingest.pipeline import Upload
from ragd.jobs.admission import check_room
from ragd.jobs.dispatch import queue_for
from ragd.models import DocStatus

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


MAX_METADATA_CHARS = 65_536
MAX_METADATA_DEPTH = 16


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (a scalar is 0), without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            if level <= MAX_METADATA_DEPTH:
                todo.extend((c, level + 1) for c in children)
    return deepest


def _metadata(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    too_deep = f"metadata is nested too deep (at most {MAX_METADATA_DEPTH} levels of objects and arrays)"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"metadata must be a JSON object: {exc.msg}") from exc
    except RecursionError as exc:
        raise ValidationFailed(too_deep) from exc
    if not isinstance(value, dict):
        raise BadRequest("metadata must be a JSON object")
    if _depth(value) > MAX_METADATA_DEPTH:
        raise ValidationFailed(too_deep)
    return value


_COLLECTION = re.compile(r"^[\w.\- ]*$")  # empty or absent: the caller's default collection
_UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                 "description": "One or more files."},
        "collection": {"type": "string", "maxLength": 200, "pattern": _COLLECTION.pattern,
                       "description": "Absent or empty: your default collection."},
        "metadata": {"type": "string", "maxLength": MAX_METADATA_CHARS, "description": "JSON object stored with "
                     f"each document (at most {MAX_METADATA_DEPTH} levels deep)."},
    }}}}}}
_GROUP_BYTES = 64 * 1024 * 1024  # originals held in memory at once while the checked files are stored


@router.post("/upload", status_code=status.HTTP_201_CREATED, response_model=UploadResponse,
             openapi_extra=_UPLOAD_BODY, responses=problems(*AUTH, *BODY, 404, 409, 413, 415, 429))
@upload_route
async def upload(request: Request, ragd: RagdDep, actor: WriterActor) -> UploadResponse:
    """Store the files and queue them for ingestion; returns at once with each document's id and status.

    The caller is authenticated before any of the body is read. Each file streams to a temporary file and is
    checked as it arrives (size, type sniffed from content, then archive and page count); the first bad file
    rejects the request and nothing is stored. A tenant with ``jobs.max_queued_per_tenant`` documents waiting
    for ingestion gets 429 ``queue_full`` (before the body is read, and again once the files are counted).
    """
    return await receive_upload(request, ragd, actor)


async def receive_upload(request: Request, ragd: Ragd, actor: Actor,
                         file_fields: tuple[str, ...] = ("file",)) -> UploadResponse:
    """The whole of an upload (checks, storage, audit), for ``POST /api/v1/documents/upload`` and its compatibility
    twins (:mod:`ragd.api.routes.compat`, whose clients may name their file parts ``files``)."""
    await run_in_threadpool(check_room, ragd.store, ragd.settings, actor.tenant_id)
    limit = int(ragd.settings.ingest.max_upload_mb * 1024 * 1024)
    async with spool_dir(ragd.settings.data_dir) as spool:
        form = await read_upload(request, spool, max_file_bytes=limit, max_files=ragd.settings.limits.max_upload_files,
                                 check=ragd.ingest.check, file_fields=file_fields)
        return await run_in_threadpool(_store, ragd, actor, form)


def _store(ragd: Ragd, actor: Actor, form: UploadForm) -> UploadResponse:
    collection = form.fields.get("collection") or None
    if collection is not None and (len(collection) > 200 or not _COLLECTION.match(collection)):
        raise ValidationFailed("collection: 1-200 letters, digits, spaces, '.', '_' or '-'")
    raw_meta = form.fields.get("metadata")
    if raw_meta is not None and len(raw_meta) > MAX_METADATA_CHARS:
        raise ValidationFailed(f"metadata: at most {MAX_METADATA_CHARS} characters")
    meta = _metadata(raw_meta)
    target = ragd.access.writable_collection(actor, collection)
    check_room(ragd.store, ragd.settings, actor.tenant_id, len(form.files))  # before anything is charged or stored
    # the upload budget is charged once every file passed (a refused request records nothing, docs/ratelimits.md)
    ragd.rate_limit(actor, upload_bytes=sum(f.size for f in form.files), count_request=False)
    groups: list[list[SpooledFile]] = [[]]
    for f in form.files:  # stored a group at a time, so memory holds at most one group of originals
        if groups[-1] and sum(g.size for g in groups[-1]) + f.size > _GROUP_BYTES:
            groups.append([])
        groups[-1].append(f)
    # a same-name upload replaces another member's document only for a caller who may write it: the calling
    # credential's role decides (an admin's user-role key is a user here), or owning the collection
    owner = ragd.access.get(actor, target).owner_id
    replace_others = actor.is_admin or owner == actor.user_id
    queue = queue_for(len(form.files))  # the whole request's queue, whatever its groups (interactive below 20 files)
    out = []
    for group in groups:
        subs = ragd.submit_many([Upload(f.path.read_bytes(), f.filename, f.mime) for f in group],
                                collection=target, metadata=meta, tenant_id=actor.tenant_id,
                                uploaded_by=actor.user_id, replace_others=replace_others, queue=queue)
        for sub in subs:
            doc, dup = sub.document, sub.duplicate
            ragd.audit_event("document.uploaded", actor, target=doc.id, details={
                "collection": target, "filename": doc.filename, "size": doc.size, "sha256": doc.content_hash,
                "duplicate": dup})
            if not dup and doc.replaces:  # the old version goes once this one is indexed
                ragd.audit_event("document.replaced", actor, target=doc.id, details={
                    "collection": target, "filename": doc.filename, "replaces": doc.replaces})
            out.append(DocumentOut.of(doc, duplicate=dup))
    return UploadResponse(documents=out)


@router.get("", response_model=DocumentList, responses=problems(*AUTH))
def list_documents(
    ragd: RagdDep,
    actor: ReaderActor,
    collection: Annotated[str | None, Query(max_length=200, pattern=COLLECTION_NAME)] = None,
    status: DocStatus | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Substring of the file name or title.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> DocumentList:
    """Documents you may read, newest first (the total counts only those too)."""
    scope = ragd.access.scope(actor)
    docs, total = ragd.store.list_documents(collection=collection, status=status, limit=limit, offset=offset,
                                            tenant_id=scope.tenant_id, readable=scope.readable, search=q)
    return DocumentList(documents=[DocumentOut.of(d) for d in docs], total=total, limit=limit, offset=offset)


@router.get("/{doc_id}", response_model=DocumentOut, responses=problems(*AUTH, 404))
def get_document(ragd: RagdDep, actor: ReaderActor, doc_id: str) -> DocumentOut:
    """The document, with ``parent_id`` (the message an attachment was found in) and ``children`` (its
    attachments indexed as documents of their own)."""
    doc = ragd.readable_document(actor, doc_id)
    return DocumentOut.of(doc, children=ragd.store.list_children(doc_id))


@router.get("/{doc_id}/text", responses=problems(*AUTH, 404))
def get_text(ragd: RagdDep, actor: ReaderActor, doc_id: str) -> dict[str, Any]:
    """The extracted text that citation offsets point into."""
    doc = ragd.readable_document(actor, doc_id)
    text = ragd.store.get_text(doc_id)
    if text is None:
        raise NotFound(f"document {doc_id!r} has no extracted text yet (status {doc.status})")
    return {"document_id": doc_id, "text": text}


@router.get("/{doc_id}/file", response_class=Response, responses={
    200: {"content": {"*/*": {}}, "description": "The original file, with its own media type."},
    **problems(*AUTH, 404)})
def download(ragd: RagdDep, actor: ReaderActor, doc_id: str) -> Response:
    doc = ragd.readable_document(actor, doc_id)
    data = ragd.ingest.original(doc_id)
    if data is None:
        raise NotFound(f"the original of {doc_id!r} is not stored")
    ragd.audit_event("document.downloaded", actor, target=doc_id, details={
        "collection": doc.collection, "filename": doc.filename, "size": len(data)})
    return Response(data, media_type=doc.mime, headers={"Content-Disposition": content_disposition(doc.filename)})


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one in RFC 5987 form (any script survives)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.post("/{doc_id}/reindex", response_model=DocumentOut, status_code=status.HTTP_202_ACCEPTED,
             responses=problems(*AUTH, 404, 409, 429))
def reindex(ragd: RagdDep, actor: WriterActor, doc_id: str) -> DocumentOut:
    """Queue the document again (429 ``queue_full`` when the tenant's ingestion queue is full)."""
    ragd.access.check_document(actor, ragd.store.get_document(doc_id), write=True)
    check_room(ragd.store, ragd.settings, actor.tenant_id)
    return DocumentOut.of(ragd.reindex(doc_id))  # queued (interactive) and dispatched: workers woken or published


@router.delete("/{doc_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(*AUTH, 404))
def delete_document(ragd: RagdDep, actor: WriterActor, doc_id: str) -> Response:
    ragd.delete_document(actor, doc_id)  # the rows and the audit entry: one transaction
    return Response(status_code=status.HTTP_204_NO_CONTENT)
