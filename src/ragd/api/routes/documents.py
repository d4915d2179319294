"""Documents: upload, list, show, text, download, re-index, delete."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from ragd.api.deps import RagdDep
from ragd.api.schemas import DocumentList, DocumentOut, UploadResponse
from ragd.errors import BadRequest, NotFound, PayloadTooLarge
from ragd.models import DocStatus

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


def _metadata(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"metadata must be a JSON object: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise BadRequest("metadata must be a JSON object")
    return value


@router.post("/upload", status_code=status.HTTP_201_CREATED, response_model=UploadResponse)
def upload(
    ragd: RagdDep,
    file: Annotated[list[UploadFile], File(description="One or more files.")],
    collection: Annotated[str | None, Form(max_length=200, pattern=r"^[\w.\- ]+$")] = None,
    metadata: Annotated[str | None, Form(description="JSON object stored with each document.")] = None,
) -> UploadResponse:
    """Store the files and queue them for ingestion; returns at once with each document's id and status.

    Every file is checked (size, type sniffed from content) before any is stored: one bad file rejects the request.
    """
    meta = _metadata(metadata)
    limit = int(ragd.settings.ingest.max_upload_mb * 1024 * 1024)
    checked: list[tuple[bytes, str, str]] = []
    for f in file:
        data = f.file.read(limit + 1)
        name = f.filename or "unnamed"
        if len(data) > limit:
            raise PayloadTooLarge(
                f"{name!r} is larger than the {limit}-byte limit (RAGD_INGEST__MAX_UPLOAD_MB)"
            )
        checked.append((data, name, ragd.ingest.check(data, name)))
    out = []
    for data, name, mime in checked:
        doc, dup = ragd.submit(data, name, collection=collection, metadata=meta, mime=mime)
        out.append(DocumentOut.of(doc, duplicate=dup))
    return UploadResponse(documents=out)


@router.get("", response_model=DocumentList)
def list_documents(
    ragd: RagdDep,
    collection: str | None = None,
    status: DocStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DocumentList:
    docs, total = ragd.store.list_documents(collection=collection, status=status, limit=limit, offset=offset)
    return DocumentList(documents=[DocumentOut.of(d) for d in docs], total=total, limit=limit, offset=offset)


@router.get("/{doc_id}", response_model=DocumentOut)
def get_document(ragd: RagdDep, doc_id: str) -> DocumentOut:
    return DocumentOut.of(ragd.get_document(doc_id))


@router.get("/{doc_id}/text")
def get_text(ragd: RagdDep, doc_id: str) -> dict[str, Any]:
    """The extracted text that citation offsets point into."""
    doc = ragd.get_document(doc_id)
    text = ragd.store.get_text(doc_id)
    if text is None:
        raise NotFound(f"document {doc_id!r} has no extracted text yet (status {doc.status})")
    return {"document_id": doc_id, "text": text}


@router.get("/{doc_id}/file")
def download(ragd: RagdDep, doc_id: str) -> Response:
    doc = ragd.get_document(doc_id)
    data = ragd.ingest.original(doc_id)
    if data is None:
        raise NotFound(f"the original of {doc_id!r} is not stored")
    quoted = doc.filename.replace('"', "")
    return Response(
        data, media_type=doc.mime, headers={"Content-Disposition": f'attachment; filename="{quoted}"'}
    )


@router.post("/{doc_id}/reindex", response_model=DocumentOut, status_code=status.HTTP_202_ACCEPTED)
def reindex(ragd: RagdDep, doc_id: str) -> DocumentOut:
    doc = ragd.ingest.reindex(doc_id)
    ragd.workers.notify()
    return DocumentOut.of(doc)


@router.delete("/{doc_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(ragd: RagdDep, doc_id: str) -> Response:
    ragd.ingest.delete(doc_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
