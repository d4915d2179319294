"""Request and response bodies of the HTTP API (pydantic v2)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from ragd.generate.base import Citation
from ragd.models import Document, ScoredChunk

MAX_OFFSET = 1_000_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip (at most 10^9).")]
"""The ``offset`` of every list: bounded, so a huge value is a 422 and not a database overflow."""

COLLECTION_NAME = r"^[\w.\- ]+$"
"""What a collection may be called (letters, digits, ``_ . -`` and spaces)."""


MetaScalar = bool | int | Annotated[float, Field(allow_inf_nan=False)] | Annotated[str, Field(max_length=1000)]
MetaFilter = dict[
    Annotated[str, Field(min_length=1, max_length=200)],
    MetaScalar | Annotated[list[MetaScalar], Field(min_length=1, max_length=100)],
]
"""A metadata filter as the store accepts it: key → a value, or a non-empty list meaning any of."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Filters(_Strict):
    collection: str | None = Field(None, max_length=200, pattern=COLLECTION_NAME,
                                   description="Shorthand for one collection.")
    collections: list[str] | None = Field(None, max_length=100)
    document_ids: list[str] | None = Field(None, max_length=1000)
    file_types: list[str] | None = Field(
        None, max_length=20, description="Extensions (pdf, docx, pptx, xlsx, odt, ods, odp, epub, rtf, html, md, txt, "
        "csv, tsv) or MIME types."
    )
    metadata: MetaFilter | None = Field(None, max_length=50, description="Equality per key; a list value means any "
                                        "of.")


class QueryRequest(_Strict):
    query: str = Field(..., min_length=1, max_length=4000)
    top_k: int = Field(5, ge=1, le=100)
    filters: Filters | None = None
    mode: Literal["hybrid", "bm25", "dense"] | None = None
    answer: bool = Field(True, description="Compose an answer (extractive by default); false = retrieval only.")
    stream: bool = Field(
        False, description="Stream the answer as Server-Sent Events (token, citations, done or error events)."
    )


class DocumentOut(BaseModel):
    id: str
    collection: str
    filename: str
    mime: str
    size: int
    content_hash: str
    status: str
    error: str | None
    error_code: str | None
    failed_step: str | None
    num_chunks: int
    pages: int | None
    title: str | None
    metadata: dict[str, Any]
    replaces: str | None
    created_at: float
    updated_at: float
    duplicate: bool | None = None
    parent_id: str | None = Field(None, description="The document this one was found in (an e-mail's attachment).")
    children: list[ChildOut] | None = Field(
        None, description="The documents found inside this one (its attachments), on GET /api/v1/documents/{id}.")

    @classmethod
    def of(cls, d: Document, duplicate: bool | None = None, children: list[Document] | None = None) -> DocumentOut:
        return cls(
            id=d.id, collection=d.collection, filename=d.filename, mime=d.mime, size=d.size,
            content_hash=d.content_hash, status=str(d.status), error=d.error, error_code=d.error_code,
            failed_step=d.failed_step, num_chunks=d.num_chunks, pages=d.pages, title=d.title,
            metadata=d.metadata, replaces=d.replaces, created_at=d.created_at, updated_at=d.updated_at,
            duplicate=duplicate, parent_id=d.parent_id,
            children=None if children is None else [ChildOut.of(c) for c in children],
        )


class ChildOut(BaseModel):
    """A document found inside another (an attachment), as its parent lists it."""

    id: str
    filename: str
    mime: str
    size: int
    status: str
    error_code: str | None

    @classmethod
    def of(cls, d: Document) -> ChildOut:
        return cls(id=d.id, filename=d.filename, mime=d.mime, size=d.size, status=str(d.status),
                   error_code=d.error_code)


class UploadResponse(BaseModel):
    documents: list[DocumentOut]


class DocumentList(BaseModel):
    documents: list[DocumentOut]
    total: int
    limit: int
    offset: int


class ResultOut(BaseModel):
    chunk_id: str
    document_id: str
    filename: str
    collection: str
    page: int | None
    page_end: int | None
    heading_path: list[str]
    text: str
    start: int
    end: int
    score: float
    similarity: float | None
    bm25_rank: int | None
    dense_rank: int | None

    @classmethod
    def of(cls, h: ScoredChunk) -> ResultOut:
        c = h.chunk
        return cls(
            chunk_id=c.id, document_id=c.document_id, filename=c.filename, collection=c.collection,
            page=c.page_start, page_end=c.page_end, heading_path=c.heading_path, text=c.text, start=c.start,
            end=c.end, score=round(h.score, 6), similarity=None if h.similarity is None else round(h.similarity, 4),
            bm25_rank=h.bm25_rank, dense_rank=h.dense_rank,
        )


class CitationOut(BaseModel):
    marker: int
    document_id: str
    filename: str
    chunk_id: str
    page: int | None
    text: str
    start: int
    end: int
    score: float
    heading_path: list[str]
    attached_to: str | None = Field(None, description="For an attachment, the message it was found in: "
                                    "'Subject' (mail.eml).")

    @classmethod
    def of(cls, c: Citation) -> CitationOut:
        return cls(
            marker=c.marker, document_id=c.document_id, filename=c.filename, chunk_id=c.chunk_id, page=c.page,
            text=c.text, start=c.start, end=c.end, score=c.score, heading_path=c.heading_path,
            attached_to=c.attached_to,
        )


class QueryResponse(BaseModel):
    query: str
    query_id: str | None = Field(None, description="Id of this answered question, for POST /api/v1/feedback.")
    answer: str | None
    found: bool
    citations: list[CitationOut]
    results: list[ResultOut]
    timings_ms: dict[str, float]


class RebuildResponse(BaseModel):
    vectors: int
    took_ms: float
