"""Fetching web pages into a collection: ``POST /api/v1/documents/fetch`` (:mod:`ragd.ingest.fetch`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from ragd.api.deps import RagdDep, WriterActor
from ragd.api.problems import AUTH, BODY, problems
from ragd.api.schemas import COLLECTION_NAME, DocumentOut
from ragd.jobs.admission import check_room
from ragd.jobs.dispatch import queue_for

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


class FetchRequest(BaseModel):
    url: Annotated[str, Field(min_length=1, max_length=2048, description="An http or https URL.")]
    sitemap: bool = Field(False, description="The URL is a sitemap: fetch each page it lists (at most "
                          "fetch.max_sitemap_pages).")
    collection: Annotated[str | None, Field(max_length=200, pattern=COLLECTION_NAME,
                                            description="Absent or empty: your default collection.")] = None


class FetchFailure(BaseModel):
    url: str
    code: str
    detail: str


class FetchResponse(BaseModel):
    documents: list[DocumentOut]
    failed: list[FetchFailure] = Field(default_factory=list, description="Pages of a sitemap not stored.")


@router.post("/fetch", status_code=status.HTTP_201_CREATED, response_model=FetchResponse,
             responses=problems(*AUTH, *BODY, 404, 413, 415))
def fetch(body: FetchRequest, ragd: RagdDep, actor: WriterActor) -> FetchResponse:
    """Fetch a web page (or every page of a sitemap) and queue it for ingestion like an upload; the page's URL is
    kept as the document's ``source_url`` metadata. Only callers who may upload may fetch, and each page stored
    is audited as ``document.uploaded`` (with its URL).

    Only public addresses are fetched unless ``fetch.allow_private_addresses``: a URL, or a redirect, to a private,
    loopback, link-local or otherwise non-public address is 422 ``url_not_allowed``. A page larger than
    ``fetch.max_mb`` is 413; a URL that cannot be fetched (no such host, no answer in time, an error status) is
    422 ``fetch_failed``; a type ragd cannot read is 415. A failing page of a sitemap is listed in ``failed`` and
    the others are stored."""
    from ragd.ingest.fetch import fetch_into

    check_room(ragd.store, ragd.settings, actor.tenant_id)
    queue = queue_for(ragd.settings.fetch.max_sitemap_pages if body.sitemap else 1)
    result = fetch_into(ragd, body.url, sitemap=body.sitemap, collection=body.collection or None, actor=actor,
                        uploaded_by=actor.user_id, queue=queue)
    out = [DocumentOut.of(sub.document, duplicate=sub.duplicate) for _, sub in result.submissions]
    # the upload budget is charged with what was stored (docs/ratelimits.md): a page's size is known once fetched
    ragd.rate_limit(actor, upload_bytes=sum(s.document.size for _, s in result.submissions if not s.duplicate),
                    count_request=False)
    failed = [FetchFailure(url=u, code=e.code, detail=e.detail) for u, e in result.failed]
    return FetchResponse(documents=out, failed=failed)
