"""Questions: hybrid retrieval and a cited answer."""

from __future__ import annotations

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from ragd.api.deps import QueryActor, RagdDep
from ragd.api.problems import AUTH, BODY, LLM, problems
from ragd.api.schemas import CitationOut, Filters, QueryRequest, QueryResponse, ResultOut
from ragd.api.sse import turn_response
from ragd.errors import InvalidFilter
from ragd.models import SearchFilters

router = APIRouter(prefix="/api/v1", tags=["query"])

FILE_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html",
    "htm": "text/html",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "txt": "text/plain",
    "text": "text/plain",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "epub": "application/epub+zip",
    "rtf": "application/rtf",
}


def to_search_filters(f: Filters | None) -> SearchFilters | None:
    if f is None:
        return None
    collections = list(f.collections or [])
    if f.collection:
        collections.append(f.collection)
    mimes = None
    if f.file_types:
        mimes = []
        for t in f.file_types:
            t = t.lower().lstrip(".")
            if "/" in t:
                mimes.append(t)
            elif t in FILE_TYPES:
                mimes.append(FILE_TYPES[t])
            else:
                raise InvalidFilter(f"unknown file type {t!r}; use one of {', '.join(sorted(FILE_TYPES))}")
    return SearchFilters(
        collections=collections or None, document_ids=f.document_ids or None, mimes=mimes, metadata=f.metadata or None
    )


_SSE_DOC = {200: {"content": {"text/event-stream": {}}, "description": "With \"stream\": true: token, "
                 "citations and done events (or an error event)."}}


@router.post("/query", response_model=QueryResponse, responses={**_SSE_DOC, **problems(*AUTH, *BODY, 404, *LLM)})
def query(ragd: RagdDep, actor: QueryActor, body: QueryRequest) -> QueryResponse | EventSourceResponse:
    """Search the documents you may read and answer from them, with citations."""
    user = actor.user_id
    filters = ragd.access.filters(actor, to_search_filters(body.filters))
    if body.stream and body.answer:
        turn = ragd.answers.ask(user, body.query, top_k=body.top_k, filters=filters, mode=body.mode)
        turn.after = lambda t, a: ragd.record_decision(actor, body.query, t.retrieval, a, t.ids.get("query_id"),
                                                       top_k=body.top_k, mode=body.mode)
        return turn_response(turn, ragd.settings.server.sse_ping_seconds)
    res = ragd.query(body.query, top_k=body.top_k, filters=filters, mode=body.mode, answer=body.answer)
    ans = res.answer
    query_id = ragd.answers.record_query(user, body.query, ans) if ans else None
    if ans is not None:
        ragd.record_decision(actor, body.query, res.retrieval, ans, query_id, top_k=body.top_k, mode=body.mode)
    return QueryResponse(
        query=body.query,
        query_id=query_id,
        answer=ans.text if ans else None,
        found=bool(ans and ans.found),
        citations=[CitationOut.of(c) for c in ans.citations] if ans else [],
        results=[ResultOut.of(h) for h in res.retrieval.hits],
        timings_ms=res.timings_ms,
    )
