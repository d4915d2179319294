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
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ragd.config import Settings
from ragd.embed.base import Embedder, model_languages
from ragd.errors import DocumentError, DocumentNotFound, ParserFailed, PayloadTooLarge
from ragd.ingest.attachments import ChildPlan, ancestors, create_children, parsed_metadata, plan_children
from ragd.ingest.budget import chunk_budget
from ragd.ingest.files import FileStore, sanitize_filename
from ragd.ingest.loaders import LoaderLimits, check_page_limit, load_document, sniff_type
from ragd.ingest.paging import chunk_pages, with_context
from ragd.models import ChunkDraft, DocStatus, Document, ParsedDocument, ParsedRecord
from ragd.observability.hooks import NO_HOOKS, Hooks
from ragd.privacy.apply import CollectionPrivacy, effective, redact_document
from ragd.privacy.pii import redact as redact_pii
from ragd.retrieve.analysis import analyze_document, chunk_language, document_language
from ragd.security import CRYPTO_ERRORS, ArchiveLimits, check_zip, is_zip
from ragd.store.base import DocumentStore, EmbeddingCache, JobQueue

log = logging.getLogger(__name__)


_EMBED_GROUP = 1024
"""Chunks embedded per model call at most (memory bound). With token-budget batches (``EmbeddingSettings.
batch_tokens``) the size of a call barely changes the model's speed (``bench/embedder_speed.py --groups``).
Parsing the next documents on a second thread while the model ran did not help on the 2-core machine (the model
keeps both cores busy and the parsing thread holds the GIL the model thread needs), so the steps run in turn."""


@dataclass(slots=True)
class _Prepared:
    doc: Document
    chunks: list[ChunkDraft]
    lexical: list[str]
    texts: dict[str, str]
    """The text embedded for each chunk, by content hash."""
    parsed: ParsedRecord
    ids: dict[str, list[int]]
    """The model's token ids of those texts the chunker already tokenized, by content hash."""
    children: ChildPlan | None = None
    """The attachments to store as child documents once this one is indexed (:mod:`ragd.ingest.attachments`)."""


class _ContentCrash(Exception):
    """An unexpected exception raised by one document's own content step (its cause), not by ragd's services."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


def _at(exc: DocumentError, step: str) -> DocumentError:
    exc.step = getattr(exc, "step", None) or step  # type: ignore[attr-defined]  # OCR errors keep "ocr"
    return exc


@dataclass(slots=True)
class Upload:
    """One file handed to :meth:`IngestService.submit_many`; ``mime`` when already checked; ``metadata`` added to
    the batch's."""

    data: bytes
    filename: str
    mime: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class Submission:
    document: Document
    duplicate: bool


class IngestStore(DocumentStore, EmbeddingCache, JobQueue, Protocol):
    """The ports ingestion writes: documents and chunks, the embedding cache, and the jobs it queues."""


class IngestService:
    def __init__(
        self,
        store: IngestStore,
        embedder: Embedder,
        files: FileStore,
        settings: Settings,
        on_indexed: Callable[[], None] | None = None,
        collection_privacy: CollectionPrivacy | None = None,
        hooks: Hooks = NO_HOOKS,
    ) -> None:
        self._hooks = hooks  # spans, metrics and logs (ragd.observability.hooks)
        self._store = store
        self._collection_privacy = collection_privacy
        self._embedder = embedder
        self._files = files
        self._settings = settings
        self._on_indexed = on_indexed or (lambda: None)
        self._cascade: dict[str, list[str]] = {}  # deleted document → its deleted descendants, until discarded

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
        replace_others: bool = True,
        queue: str = "interactive",
    ) -> Submission:
        """Store the original and queue it. Identical bytes in the same collection return the existing document;
        a new version of the same file name replaces the old one once it is indexed."""
        return self.submit_many([Upload(data, filename, mime)], collection=collection, metadata=metadata,
                                tenant_id=tenant_id, uploaded_by=uploaded_by, replace_others=replace_others,
                                queue=queue)[0]

    def submit_many(
        self,
        uploads: Sequence[Upload],
        *,
        collection: str | None = None,
        metadata: dict[str, Any] | None = None,
        tenant_id: str = "default",
        uploaded_by: str | None = None,
        replace_others: bool = True,
        queue: str = "interactive",
    ) -> list[Submission]:
        """:meth:`submit` for several files with one durable write: the originals are fsynced together and the
        documents and their jobs inserted in one transaction. An upload without ``mime`` is checked first
        (:meth:`check`); the first one rejected raises before anything is stored. Within the batch, identical
        bytes are one document and a later file of the same name replaces an earlier one.

        The store decides duplicates and versions atomically (:meth:`Store.submit_documents`): concurrent
        identical uploads get one document back, a failed document uploaded again is queued again, and a file
        name replaces only a document ``uploaded_by`` may replace (its own; any with ``replace_others``: the
        collection's owner, a tenant admin, the local operator). New jobs go to ``queue`` (``interactive`` or
        ``bulk``, :data:`ragd.models.JOB_QUEUES`)."""
        collection = collection or self._settings.default_collection
        known: dict[str, Document] = {}  # content hash → document already stored (not failed)
        first: dict[str, int] = {}  # content hash → index of its first new document in this batch
        new: list[Document] = []
        originals: list[tuple[str, bytes]] = []
        plan: list[Document | int] = []  # per upload: a known document, or the index of a new one
        for up in uploads:
            mime = up.mime or self.check(up.data, up.filename)
            digest = hashlib.sha256(up.data).hexdigest()
            if digest not in known and digest not in first:
                found = self._store.find_document(collection, content_hash=digest, tenant_id=tenant_id)
                if found is not None and found.status is not DocStatus.FAILED:
                    known[digest] = found  # a plain re-upload: no file written, nothing changed
            if digest in known:
                plan.append(known[digest])
                continue
            if digest in first:
                plan.append(first[digest])
                continue
            first[digest] = len(new)
            plan.append(len(new))
            doc = Document(
                id="d_" + uuid.uuid4().hex[:20], collection=collection, filename=sanitize_filename(up.filename),
                content_hash=digest, mime=mime, size=len(up.data),
                metadata={**(metadata or {}), **(up.metadata or {})}, tenant_id=tenant_id, uploaded_by=uploaded_by,
            )
            new.append(doc)
            originals.append((doc.id, up.data))
        results: list[tuple[Document, bool]] = []
        if new:
            self._files.put_many(originals)
            try:
                results = self._store.submit_documents(new, replace_others=replace_others, queue=queue)
            except BaseException:
                for doc in new:
                    self._files.delete(doc.id)
                raise
            for doc, (_stored, duplicate) in zip(new, results, strict=True):
                if duplicate:  # another upload of the same bytes won the race: ours is not needed
                    self._files.delete(doc.id)
        out: list[Submission] = []
        seen: set[int] = set()
        for item in plan:
            if isinstance(item, Document):
                out.append(Submission(item, True))
            else:
                stored, duplicate = results[item]
                out.append(Submission(stored, duplicate or item in seen))
                seen.add(item)
        self._hooks.observe("submitted", submissions=out)
        return out

    def reindex(self, doc_id: str, *, queue: str = "interactive") -> Document:
        """Queue ``doc_id`` for processing again (in ``queue``)."""
        doc = self._store.get_document(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        self._store.set_status(doc_id, DocStatus.PENDING)
        self._store.enqueue_job(doc_id, queue=queue)
        return self._store.get_document(doc_id) or doc

    def delete(self, doc_id: str) -> None:
        """Delete one document (its rows, then its original). An operation that must commit more with it (an audit
        entry, a collection) runs :meth:`delete_records` inside its unit of work and :meth:`discard` after."""
        self.delete_records(doc_id)
        self.discard([doc_id])

    def delete_records(self, doc_id: str) -> Document:
        """Delete the document's rows (document, text, chunks, jobs); joins the caller's transaction. Returns the
        deleted document; DocumentNotFound if there is none."""
        doc = self._store.get_document(doc_id)
        descendants = self._descendants(doc_id) if doc is not None else []
        if doc is None or not self._store.delete_document(doc_id):  # deletes the descendants' rows too
            raise DocumentNotFound(f"no document {doc_id!r}")
        if descendants:
            self._cascade[doc_id] = descendants
        return doc

    def _descendants(self, doc_id: str) -> list[str]:
        """The ids of the documents found inside ``doc_id`` (its attachments, theirs…)."""
        out: list[str] = []
        seen = {doc_id}
        todo = [doc_id]
        while todo and len(out) < 100_000:
            children = [c.id for c in self._store.list_children(todo.pop()) if c.id not in seen]
            seen.update(children)
            out.extend(children)
            todo.extend(children)
        return out

    def discard(self, doc_ids: Sequence[str]) -> None:
        """After the deletion of ``doc_ids`` committed: remove their originals and catch the indexes up. (Files
        go only after the commit: a rolled-back delete must keep its original; a crash in between leaves an
        orphan file, which ``ragd doctor --repair`` removes, never a document without its original.)"""
        for doc_id in [*doc_ids, *(c for d in doc_ids for c in self._cascade.pop(d, []))]:
            self._files.delete(doc_id)
        if doc_ids:
            self._on_indexed()

    def original(self, doc_id: str) -> bytes | None:
        return self._files.get(doc_id)

    # -- processing ------------------------------------------------------------------------------------------
    def process(self, doc_id: str) -> DocStatus:
        """Run the pipeline for one document (see :meth:`process_batch`)."""
        return self.process_batch([doc_id])[doc_id]

    def process_batch(self, doc_ids: list[str]) -> dict[str, DocStatus]:
        """Run the pipeline for several documents, embedding all their new chunks in one batched call (small
        documents would otherwise reach the model one short batch at a time). A document moves to ``parsing``
        when its turn comes (the others stay ``pending``). Document errors, and any exception raised while a
        document's own content is parsed, chunked or analysed, end that document ``failed`` alone; other
        exceptions (the store, the model) propagate (the worker retries the jobs). Each document's outcome is
        reported to the hooks (``document_processed``)."""
        t0 = time.perf_counter()
        with self._hooks.batch(doc_ids), self._hooks.span("ingest", documents=len(doc_ids)):
            statuses = self._process_batch(doc_ids)
        took = round((time.perf_counter() - t0) * 1000, 1)
        for doc_id, status in statuses.items():
            code = None
            if status is DocStatus.FAILED:
                doc = self._store.get_document(doc_id)
                code = doc.error_code if doc else None
            self._hooks.observe("document_processed", document_id=doc_id, status=status.value, error_code=code,
                                batch=len(doc_ids), batch_ms=took)
        return statuses

    def _process_batch(self, doc_ids: list[str]) -> dict[str, DocStatus]:
        result: dict[str, DocStatus] = {}
        ready: list[_Prepared] = []
        pending = 0
        redact: dict[tuple[str, str], bool] = {}  # per (tenant, collection), looked up once per batch
        planned: dict[str, int] = {}  # per upload (root document): children planned in this batch, not yet stored

        for doc_id in doc_ids:
            self._store.set_status_many([doc_id], DocStatus.PARSING)
            prepared = self._guard(doc_id, DocStatus.PARSING,
                                   lambda d=doc_id: self._traced_prepare(d, redact, planned))
            if prepared is None:
                result[doc_id] = DocStatus.FAILED
                continue
            ready.append(prepared)
            pending += len(prepared.texts)
            if pending >= _EMBED_GROUP:  # bound memory: embed and commit what is parsed so far
                self._embed_and_commit(ready, result)
                ready, pending = [], 0
        self._embed_and_commit(ready, result)
        return result

    def _embed_and_commit(self, ready: list[_Prepared], result: dict[str, DocStatus]) -> None:
        """Store the parsed texts, embed the new chunks, and index every document, each step one transaction for
        the whole group. A document deleted meanwhile (or replaced by a newer version) is dropped, the others go
        on; the originals of the older versions an indexed document replaced are deleted."""
        try:
            self._store.record_parsed([p.parsed for p in ready])
        except DocumentNotFound:
            ready = [p for p in ready if self._each_or_gone(lambda p=p: self._store.record_parsed([p.parsed]))]
        if not ready:
            return
        self._store.set_status_many([p.doc.id for p in ready], DocStatus.EMBEDDING)
        self._embed_missing({h: t for p in ready for h, t in p.texts.items()},
                            {h: ids for p in ready for h, ids in p.ids.items()})
        model = self._embedder.name
        removed: list[str] = []
        try:
            removed = self._store.commit_chunks_many([(p.doc.id, p.chunks, p.lexical) for p in ready], model)
        except DocumentNotFound:
            ready = [p for p in ready
                     if self._each_or_gone(lambda p=p: removed.extend(
                         self._store.commit_chunks(p.doc.id, p.chunks, p.lexical, model)))]
        for old in removed:
            self._files.delete(old)
        for p in ready:
            result[p.doc.id] = DocStatus.INDEXED
            if p.children is not None:  # after the commit, which removed older versions' children
                create_children(self._store, self._files, p.children.children)
        self._on_indexed()

    @staticmethod
    def _each_or_gone(fn: Callable[[], None]) -> bool:
        """Run one document's store write; False if the document was deleted meanwhile."""
        try:
            fn()
        except DocumentNotFound:
            return False
        return True

    def _guard(self, doc_id: str, step: DocStatus, fn: Callable[[], _Prepared | None]) -> _Prepared | None:
        try:
            return fn()
        except (DocumentError, *CRYPTO_ERRORS) as exc:  # a missing key fails this document only, not the batch
            self._failed(doc_id, getattr(exc, "step", step.value), exc.detail, exc.code)
        except _ContentCrash as crash:  # a parser's (or chunker's) own bug or a file it did not expect
            exc = crash.__cause__
            log.warning("document %s: %s raised %r", doc_id, crash.step, exc, exc_info=exc)
            self._failed(doc_id, crash.step, f"the {crash.step} step failed unexpectedly on this file "
                         f"({type(exc).__name__}: {str(exc)[:300]})", ParserFailed.code)
        return None

    def _failed(self, doc_id: str, step: str, reason: str, code: str) -> None:
        try:
            self._store.set_status(doc_id, DocStatus.FAILED, error=reason, error_code=code, failed_step=step)
        except DocumentNotFound:  # deleted (or replaced by a newer version) meanwhile
            return
        log.info("document %s failed at %s: %s", doc_id, step, reason)

    def _traced_prepare(
        self, doc_id: str, redact: dict[tuple[str, str], bool], planned: dict[str, int]
    ) -> _Prepared | None:
        with self._hooks.span("parse"):  # parsing and chunking of one document
            return self._prepare(doc_id, redact, planned)

    def _prepare(
        self, doc_id: str, redact: dict[tuple[str, str], bool], planned: dict[str, int]
    ) -> _Prepared | None:
        doc = self._store.get_document(doc_id)
        if doc is None:
            return None
        data = self._files.get(doc_id)
        if data is None:
            raise _at(DocumentError("the stored original file is missing; upload it again"), "parsing")
        try:
            office = self._settings.office
            parsed = load_document(data, doc.filename, mime=doc.mime, max_pages=self._settings.ingest.max_pages,
                                   limits=LoaderLimits(office.max_sheet_cells, office.max_xml_depth),
                                   ocr=self._settings.ocr.config(),
                                   on_ocr=lambda: self._store.set_status_many([doc_id], DocStatus.OCR))
        except DocumentError as exc:
            raise _at(exc, "parsing") from None
        except Exception as exc:
            raise _ContentCrash("parsing") from exc
        key = (doc.tenant_id, doc.collection)
        if key not in redact:
            redact[key] = self.redact_ingest(doc)
        if redact[key] and parsed.metadata:  # a mail's headers are personal data too
            privacy = self._settings.privacy
            parsed.metadata = {k: redact_pii(v, privacy.kinds, privacy.phone_regions) if isinstance(v, str) else v
                               for k, v in parsed.metadata.items()}
        try:
            plan = None
            if parsed.attachments:
                chain = ancestors(self._store, doc)
                root = chain[-1].id if chain else doc.id
                in_tree = len(self._descendants(root)) if chain else 0  # a reindexed upload: its own come again
                plan = plan_children(doc, parsed, chain, self._settings, self.check,
                                     in_tree=in_tree + planned.get(root, 0))
                planned[root] = planned.get(root, 0) + len(plan.children)
            prepared = self._chunk(doc, parsed, redact[key])
        except DocumentError:
            raise
        except Exception as exc:
            raise _ContentCrash("chunking") from exc
        metadata = parsed_metadata(doc, parsed, plan or ChildPlan())
        if metadata is not None:
            prepared.parsed = replace(prepared.parsed, metadata=metadata)
        prepared.children = plan
        return prepared

    def _chunk(self, doc: Document, parsed: ParsedDocument, redact: bool) -> _Prepared:
        """Redact, chunk and analyse one parsed document (its own content only: no store, no model call)."""
        doc_id = doc.id
        privacy = self._settings.privacy
        parsed = redact_document(parsed, redact, privacy.kinds, privacy.phone_regions)
        cs = self._settings.chunking
        language = document_language(parsed.text)  # sizes the passages, and for chunks too short to tell their own
        budget = chunk_budget(parsed.text, language, self._embedder, model_languages(self._embedder),
                              max_tokens=cs.max_tokens, overlap_tokens=cs.overlap_tokens)  # fmt: skip
        chunks = chunk_pages(parsed, self._embedder, max_tokens=budget.max_tokens, overlap_tokens=budget.overlap_tokens)
        if not chunks:
            raise _at(DocumentError("the document contains no text to index"), "chunking")
        texts: dict[str, str] = {}
        ids: dict[str, list[int]] = {}
        for c in chunks:
            # a chunk is indexed and embedded with its headings (title fields): a passage deep in a section still
            # matches the words of the section's title; the cache key follows the text the model really sees
            text = with_context(c.text, c.heading_path)
            c.content_hash = hashlib.sha256(text.encode()).hexdigest()
            texts[c.content_hash] = text
            if c.token_ids is not None and text is c.text:
                ids[c.content_hash] = c.token_ids
        lexical = []
        for c in chunks:  # each chunk in its own language: one document may mix languages
            text = texts[c.content_hash]
            c.language = chunk_language(text, language)
            lexical.append(" ".join(analyze_document(text, c.language, also=language)))
        record = ParsedRecord(doc_id, parsed.text, parsed.pages, parsed.title)
        return _Prepared(doc, chunks, lexical, texts, record, ids)

    def redact_ingest(self, doc: Document) -> bool:
        """Whether personal data is redacted from ``doc``'s text before it is stored and indexed: its collection's
        setting (``PUT /api/v1/collections/{name}/privacy``) tightening the global ``privacy.redact_ingest``, which it
        never switches off."""
        own = None
        if self._collection_privacy is not None and not self._settings.privacy.redact_ingest:
            own = self._collection_privacy(doc.tenant_id, [doc.collection]).get(doc.collection, (None, None))[0]
        return effective(own, self._settings.privacy.redact_ingest)

    def fail(self, doc_id: str, reason: str, step: str = "processing") -> None:
        self._store.set_status(doc_id, DocStatus.FAILED, error=reason, error_code="internal_error", failed_step=step)

    def _embed_missing(self, texts_by_hash: dict[str, str], ids_by_hash: dict[str, list[int]]) -> None:
        model = self._embedder.name
        cached = self._store.get_embeddings(model, list(texts_by_hash))
        todo = [h for h in texts_by_hash if h not in cached]
        if not todo:
            return
        with self._hooks.span("embed"):
            vectors = self._embedder.embed([texts_by_hash[h] for h in todo], [ids_by_hash.get(h) for h in todo])
        self._store.put_embeddings(model, dict(zip(todo, vectors, strict=True)))
