"""Domain types shared by every layer. Imports nothing else from ragd."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal


class DocStatus(enum.StrEnum):
    PENDING = "pending"
    PARSING = "parsing"
    OCR = "ocr"  # parsing, while pages without a text layer or images are OCR'd
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    INDEXED = "indexed"
    FAILED = "failed"


BlockKind = Literal["heading", "paragraph", "table", "code", "list"]


@dataclass(slots=True)
class Block:
    """One structural unit of extracted text.

    ``start``/``end`` are character offsets into :attr:`ParsedDocument.text` (``text[start:end] == block.text``).
    ``page`` counts from 1 as a reader does (``None`` for formats without pages).
    ``heading_path`` lists the enclosing headings, outermost first (a heading block's own path includes itself).
    For ``kind == "table"`` the text is a Markdown table: ``header_lines`` (header row and ``|---|`` line) come
    first, then one line per row; a chunker may split a table only between rows and repeats the header.
    """

    kind: BlockKind
    text: str
    start: int
    end: int
    page: int | None = None
    heading_path: list[str] = field(default_factory=list)
    level: int = 0
    header_lines: int = 0


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried inside a document (an e-mail's attachment), decoded; indexed as a child document."""

    filename: str
    data: bytes = field(repr=False)
    declared_mime: str = "application/octet-stream"


@dataclass(slots=True)
class ParsedDocument:
    """What a loader returns: the whole extracted text and its blocks, in reading order."""

    text: str
    blocks: list[Block]
    pages: int | None = None
    title: str | None = None
    mime: str = "text/plain"
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    """Files the document carries, to index as its child documents (e-mail attachments)."""


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """What parsing a document leaves in the store (:meth:`ragd.store.base.Store.record_parsed`)."""

    doc_id: str
    text: str
    pages: int | None = None
    title: str | None = None
    metadata: dict[str, Any] | None = None
    """The document's whole metadata after parsing (``None``: unchanged), e.g. a mail's headers added."""


@dataclass(slots=True)
class ChunkDraft:
    """A chunk before it is stored: offsets into the document's extracted text, pages from 1."""

    ordinal: int
    text: str
    start: int
    end: int
    page_start: int | None
    page_end: int | None
    heading_path: list[str]
    token_count: int
    content_hash: str
    language: str = ""
    """ISO 639-1 code of the language the chunk's lexical text was analysed in (``""``: unknown)."""
    token_ids: list[int] | None = field(default=None, repr=False, compare=False)
    """The model's token ids of ``text`` when the chunker computed them (never stored): the embedder reuses them."""


@dataclass(slots=True)
class Document:
    id: str
    collection: str
    filename: str
    content_hash: str
    mime: str
    size: int
    status: DocStatus = DocStatus.PENDING
    error: str | None = None
    error_code: str | None = None
    failed_step: str | None = None
    num_chunks: int = 0
    pages: int | None = None
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    replaces: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    tenant_id: str = "default"
    uploaded_by: str | None = None
    parent_id: str | None = None
    """The document this one was found in (an e-mail's attachment); deleted with it."""


@dataclass(slots=True)
class Chunk:
    """A stored chunk with what a citation needs."""

    id: str
    seq: int
    document_id: str
    collection: str
    filename: str
    ordinal: int
    text: str
    start: int
    end: int
    page_start: int | None
    page_end: int | None
    heading_path: list[str]
    content_hash: str
    mime: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    tenant_id: str = "default"


JOB_QUEUES: tuple[str, ...] = ("interactive", "bulk")
"""The job queues: ``interactive`` (single uploads, small API batches, one reindex) and ``bulk`` (the CLI, reindex
of everything, large API batches, doctor's requeue). A worker serves them in turn, so bulk work delays an
interactive job by at most one task per worker slot."""

JOB_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")


@dataclass(slots=True)
class Job:
    id: int
    document_id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    attempts: int = 0
    error: str | None = None
    """The last error: of the failure when ``failed``, of the previous attempt when queued again for a retry."""
    queue: str = "interactive"
    not_before: float | None = None
    """Epoch seconds before which a queued job is not claimed by ``claim_jobs`` (a retry's backoff)."""
    published_at: float | None = None
    """When a broker message for the job was last published (``None``: never; embedded mode never publishes)."""


@dataclass(slots=True)
class SearchFilters:
    """Which chunks a search may return. Every field narrows (AND); lists are OR within the field.

    ``tenant_id`` and ``readable`` are the caller's access scope (:mod:`ragd.auth.policy`), applied inside the
    store query like every other filter: ``readable=None`` means every collection of the tenant, and an empty
    list means none at all (unlike ``collections``, where an empty list narrows nothing).
    """

    collections: list[str] | None = None
    document_ids: list[str] | None = None
    mimes: list[str] | None = None
    metadata: dict[str, Any] | None = None
    tenant_id: str | None = None
    readable: list[str] | None = None

    def is_empty(self) -> bool:
        return not (self.collections or self.document_ids or self.mimes or self.metadata) and (
            self.tenant_id is None and self.readable is None
        )


@dataclass(slots=True)
class ScoredChunk:
    chunk: Chunk
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None
    similarity: float | None = None
    """Cosine between the query and the chunk's embedding, when known."""
