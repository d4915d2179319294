"""The ingestion pipeline: a resumable state machine per document.

``pending → parsing → chunking → embedding → indexed`` or ``failed`` (with the step, a stable code and a human
reason). :meth:`IngestService.submit` stores the original and enqueues a job in one transaction and returns at
once; :meth:`IngestService.process` (called by a worker) runs the steps. Every step is idempotent: a crash anywhere
leaves the document re-processable from its stored original, and :meth:`Store.commit_chunks` swaps chunks in one
transaction, so a document is never half-indexed.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from ragd.config import Settings
from ragd.embed.base import Embedder, TokenCounter
from ragd.errors import DocumentError, DocumentNotFound, PayloadTooLarge
from ragd.ingest.chunking import chunk_document
from ragd.ingest.files import FileStore, sanitize_filename
from ragd.ingest.loaders import check_page_limit, load_document, sniff_type
from ragd.models import ChunkDraft, DocStatus, Document, ParsedDocument
from ragd.privacy.apply import CollectionPrivacy, redact_document
from ragd.retrieve.analysis import analyze_document, detect_language
from ragd.security import CRYPTO_ERRORS, ArchiveLimits, check_zip, is_zip
from ragd.store.base import Store

log = logging.getLogger(__name__)


def with_context(text: str, heading_path: list[str]) -> str:
    """The chunk text prefixed with its heading path, unless the chunk already starts with its own heading."""
    headings = [h for h in heading_path if h]
    if not headings or text.lstrip().startswith(headings[-1]):
        headings = headings[:-1] if headings else headings
        if not headings:
            return text
    return " > ".join(headings) + "\n\n" + text


def chunk_pages(
    parsed: ParsedDocument, counter: TokenCounter, *, max_tokens: int, overlap_tokens: int
) -> list[ChunkDraft]:
    """Chunk a paged document page by page, so that a chunk — and every citation drawn from it — lies on exactly
    one page; other documents are chunked whole."""
    if not parsed.pages or parsed.pages <= 1:
        return chunk_document(parsed, counter, max_tokens=max_tokens, overlap_tokens=overlap_tokens)
    chunks: list[ChunkDraft] = []
    for _page, blocks in groupby(parsed.blocks, key=lambda b: b.page):
        part = ParsedDocument(text=parsed.text, blocks=list(blocks), pages=parsed.pages, mime=parsed.mime)
        for c in chunk_document(part, counter, max_tokens=max_tokens, overlap_tokens=overlap_tokens):
            c.ordinal = len(chunks)
            chunks.append(c)
    return chunks


_EMBED_GROUP = 2048
"""Chunks embedded per model call at most. The embedder sorts a call's texts by length before batching, so bigger
calls pad less: 1,000 mixed passages run at 86/s in one call but 61/s in calls of 128 (bench/ingest_and_latency.py)."""


@dataclass(slots=True)
class _Prepared:
    doc: Document
    chunks: list[ChunkDraft]
    lexical: list[str]
    texts: dict[str, str]
    """The text embedded for each chunk, by content hash."""


def _at(exc: DocumentError, step: str) -> DocumentError:
    exc.step = step  # type: ignore[attr-defined]
    return exc


@dataclass(slots=True)
class Submission:
    document: Document
    duplicate: bool


class IngestService:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        files: FileStore,
        settings: Settings,
        on_indexed: Callable[[], None] | None = None,
        collection_privacy: CollectionPrivacy | None = None,
    ) -> None:
        self._store = store
        self._collection_privacy = collection_privacy
        self._embedder = embedder
        self._files = files
        self._settings = settings
        self._on_indexed = on_indexed or (lambda: None)

    # -- submission ------------------------------------------------------------------------------------------
    def check(self, data: bytes, filename: str) -> str:
        """Validate before anything is stored; returns the MIME type sniffed from the content (never the name's).

        In order: size (413 ``payload_too_large``); for a zip-based file, its central directory (413
        ``archive_too_large``, 422 ``archive_unsafe``); type (415 ``unsupported_media_type``); page count (422
        ``too_many_pages``)."""
        ing = self._settings.ingest
        limit = int(ing.max_upload_mb * 1024 * 1024)
        label = repr(sanitize_filename(filename))
        if len(data) > limit:
            raise PayloadTooLarge(
                f"{label} is {len(data)} bytes; the limit is {limit} bytes (setting RAGD_INGEST__MAX_UPLOAD_MB)."
            )
        if is_zip(data):
            limits = ArchiveLimits(ing.max_archive_entries, int(ing.max_archive_uncompressed_mb * 1024 * 1024),
                                   ing.max_archive_ratio)
            check_zip(data, limits, label=label)
        mime = sniff_type(data, filename)
        check_page_limit(data, mime, ing.max_pages)
        return mime

    def submit(
        self,
        data: bytes,
        filename: str,
        *,
        collection: str | None = None,
        metadata: dict[str, Any] | None = None,
        mime: str | None = None,
        tenant_id: str = "default",
        uploaded_by: str | None = None,
    ) -> Submission:
        """Store the original and queue it. Identical bytes in the same collection return the existing document;
        a new version of the same file name replaces the old one once it is indexed."""
        mime = mime or self.check(data, filename)
        name = sanitize_filename(filename)
        collection = collection or self._settings.default_collection
        digest = hashlib.sha256(data).hexdigest()
        existing = self._store.find_document(collection, content_hash=digest, tenant_id=tenant_id)
        if existing is not None:
            return Submission(existing, True)
        previous = self._store.find_document(collection, filename=name, tenant_id=tenant_id)
        doc_id = "d_" + uuid.uuid4().hex[:20]
        self._files.put(doc_id, data)
        doc = Document(
            id=doc_id,
            collection=collection,
            filename=name,
            content_hash=digest,
            mime=mime,
            size=len(data),
            metadata=dict(metadata or {}),
            replaces=previous.id if previous is not None else None,
            tenant_id=tenant_id,
            uploaded_by=uploaded_by,
        )
        return Submission(self._store.add_document(doc), False)

    def reindex(self, doc_id: str) -> Document:
        doc = self._store.get_document(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        self._store.set_status(doc_id, DocStatus.PENDING)
        self._store.enqueue_job(doc_id)
        return self._store.get_document(doc_id) or doc

    def delete(self, doc_id: str) -> None:
        doc = self._store.get_document(doc_id)
        if doc is None or not self._store.delete_document(doc_id):
            raise DocumentNotFound(f"no document {doc_id!r}")
        self._files.delete(doc_id)
        self._on_indexed()

    def original(self, doc_id: str) -> bytes | None:
        return self._files.get(doc_id)

    # -- processing ------------------------------------------------------------------------------------------
    def process(self, doc_id: str) -> DocStatus:
        """Run the pipeline for one document (see :meth:`process_batch`)."""
        return self.process_batch([doc_id])[doc_id]

    def process_batch(self, doc_ids: list[str]) -> dict[str, DocStatus]:
        """Run the pipeline for several documents, embedding all their new chunks in one batched call (small
        documents would otherwise reach the model one short batch at a time). Document errors end that document
        ``failed``; other exceptions propagate (the worker retries the jobs)."""
        result: dict[str, DocStatus] = {}
        ready: list[_Prepared] = []
        pending = 0
        for doc_id in doc_ids:
            prepared = self._guard(doc_id, DocStatus.PARSING, lambda d=doc_id: self._prepare(d))
            if isinstance(prepared, _Prepared):
                ready.append(prepared)
                pending += len(prepared.texts)
            else:
                result[doc_id] = DocStatus.FAILED
            if pending >= _EMBED_GROUP:  # bound memory: embed and commit what is parsed so far
                self._embed_and_commit(ready, result)
                ready, pending = [], 0
        self._embed_and_commit(ready, result)
        return result

    def _embed_and_commit(self, ready: list[_Prepared], result: dict[str, DocStatus]) -> None:
        if not ready:
            return
        self._store.set_status_many([p.doc.id for p in ready], DocStatus.EMBEDDING)
        self._embed_missing({h: t for p in ready for h, t in p.texts.items()})
        for p in ready:
            self._store.commit_chunks(p.doc.id, p.chunks, p.lexical, self._embedder.name)
            if p.doc.replaces:
                self._files.delete(p.doc.replaces)
            result[p.doc.id] = DocStatus.INDEXED
        self._on_indexed()

    def _guard(self, doc_id: str, step: DocStatus, fn: Callable[[], _Prepared | None]) -> _Prepared | None:
        try:
            return fn()
        except (DocumentError, *CRYPTO_ERRORS) as exc:  # a missing key fails this document only, not the batch
            failed_step = getattr(exc, "step", step.value)
            self._store.set_status(
                doc_id, DocStatus.FAILED, error=exc.detail, error_code=exc.code, failed_step=failed_step
            )
            log.info("document %s failed at %s: %s", doc_id, failed_step, exc.detail)
            return None

    def _prepare(self, doc_id: str) -> _Prepared | None:
        doc = self._store.get_document(doc_id)
        if doc is None:
            return None
        self._store.set_status(doc_id, DocStatus.PARSING)
        data = self._files.get(doc_id)
        if data is None:
            raise _at(DocumentError("the stored original file is missing; upload it again"), "parsing")
        try:
            parsed = load_document(data, doc.filename, mime=doc.mime, max_pages=self._settings.ingest.max_pages)
        except DocumentError as exc:
            raise _at(exc, "parsing") from None
        parsed = redact_document(parsed, self.redact_ingest(doc), self._settings.privacy.kinds)
        self._store.save_text(doc_id, parsed.text)
        self._store.set_status(doc_id, DocStatus.CHUNKING, pages=parsed.pages, title=parsed.title)
        cs = self._settings.chunking
        chunks = chunk_pages(parsed, self._embedder, max_tokens=cs.max_tokens, overlap_tokens=cs.overlap_tokens)
        if not chunks:
            raise _at(DocumentError("the document contains no text to index"), "chunking")
        language = detect_language(parsed.text)
        texts = {}
        for c in chunks:
            # a chunk is indexed and embedded with its headings (title fields): a passage deep in a section still
            # matches the words of the section's title; the cache key follows the text the model really sees
            text = with_context(c.text, c.heading_path)
            c.content_hash = hashlib.sha256(text.encode()).hexdigest()
            texts[c.content_hash] = text
        lexical = [" ".join(analyze_document(texts[c.content_hash], language)) for c in chunks]
        return _Prepared(doc, chunks, lexical, texts)

    def redact_ingest(self, doc: Document) -> bool:
        """Whether personal data is redacted from ``doc``'s text before it is stored and indexed: its collection's
        setting (``PUT /api/v1/collections/{name}/privacy``), else the global ``privacy.redact_ingest``."""
        if self._collection_privacy is not None:
            own = self._collection_privacy(doc.tenant_id, [doc.collection]).get(doc.collection, (None, None))[0]
            if own is not None:
                return own
        return self._settings.privacy.redact_ingest

    def fail(self, doc_id: str, reason: str, step: str = "processing") -> None:
        self._store.set_status(doc_id, DocStatus.FAILED, error=reason, error_code="internal_error", failed_step=step)

    def _embed_missing(self, texts_by_hash: dict[str, str]) -> None:
        model = self._embedder.name
        cached = self._store.get_embeddings(model, list(texts_by_hash))
        todo = [h for h in texts_by_hash if h not in cached]
        if not todo:
            return
        vectors = self._embedder.embed([texts_by_hash[h] for h in todo])
        self._store.put_embeddings(model, dict(zip(todo, vectors, strict=True)))
