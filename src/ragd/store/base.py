"""The ``Store`` port: ragd's system of record, and the small ports it is made of.

``Store`` is the union of five ports along the seams its conformance suites test separately, so that each
service is typed against what it uses: :class:`DocumentStore` (documents, their text and chunks, lexical search,
access masks), :class:`EmbeddingCache`, :class:`JobQueue`, :class:`ChangeFeed` (what the derived indexes follow,
:mod:`ragd.index.follower`) and :class:`MetaStore`. An adapter implements them all on one database (the backend
hands it out as :attr:`ragd.store.backend.Backend.store`).

Every adapter (SQLite, PostgreSQL) must pass the conformance suites in :mod:`ragd.testing` (``store_conformance``
and its ``_jobs``, ``_batch``, ``_lexical`` and ``_uploads`` companions). The contract:

* All methods are synchronous and thread-safe (the API calls them from a thread pool, ingestion workers from
  their own threads). A write either happens completely or not at all.
* The store keeps documents, their extracted text, chunks, an embedding cache keyed by
  ``(model, content_hash)``, a lexical index over *analysed* chunk text (analysis — lowercasing, accent folding,
  stemming — is done by the caller, :mod:`ragd.retrieve.analysis`, so the store only indexes and matches
  space-separated terms), a change log feeding derived dense indexes, a job table, and key/value metadata.
* Chunks have a string ``id`` (``"{document_id}:{ordinal}"``) and an integer ``seq`` that is unique and never
  reused; derived indexes refer to chunks by ``seq``.
* The change log is an append-only sequence of ``(change_id, chunk_seq, op)`` with ``op`` ``"add"`` or ``"del"``
  and ``change_id`` strictly increasing: a derived index that remembers the last ``change_id`` it applied (its
  watermark) catches up by applying :meth:`Store.changes_since`.
* Filters (:class:`ragd.models.SearchFilters`) are applied inside the store query, never by trimming results.
  ``metadata`` filters match documents whose metadata has every given key equal to the given value (a list value
  means "any of").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ragd.models import Chunk, ChunkDraft, DocStatus, Document, Job, ParsedRecord, SearchFilters


@runtime_checkable
class MetaStore(Protocol):
    """Key/value settings of the store (embedding model and dimension, the store's identity)."""

    # -- metadata --------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


@runtime_checkable
class DocumentStore(Protocol):
    """Documents, their extracted text and chunks, lexical search and access masks (ingestion writes them,
    retrieval reads them)."""

    def add_document(self, doc: Document, *, enqueue: bool = True) -> Document:
        """Insert ``doc`` (status ``pending``) and, if ``enqueue``, an ``ingest`` job for it, in one transaction.

        Sets ``created_at``/``updated_at``. Returns the stored document.
        """

    def add_documents(self, docs: Sequence[Document]) -> list[Document]:
        """:meth:`add_document` with ``enqueue`` for each of ``docs``, all in one transaction (all or none)."""

    def submit_documents(
        self, docs: Sequence[Document], *, replace_others: bool = True, queue: str = "interactive"
    ) -> list[tuple[Document, bool]]:
        """Uploads, in order, in one transaction, each as ``(document, duplicate)``. The store, not a look-up
        before it, guarantees that identical bytes are one document: concurrent calls from any thread or process
        with the same ``(tenant_id, collection, content_hash)`` insert one row, and every other caller gets that
        document back with ``duplicate`` true (a ``failed`` one is queued again first, once). A new document
        ``replaces`` the newest of the same tenant, collection and file name that its uploader may replace (every
        one when ``replace_others``, else only those with the same ``uploaded_by``) and joins its lineage;
        otherwise it starts a lineage of its own. Inserted documents are ``pending`` with a job queued in ``queue`` (as
        is the new job of a failed document queued again)."""

    def get_document(self, doc_id: str) -> Document | None: ...

    def find_document(
        self, collection: str, *, content_hash: str | None = None, filename: str | None = None,
        tenant_id: str = "default",
    ) -> Document | None:
        """The newest document of ``collection`` in ``tenant_id`` matching every given key (``None`` keys are
        ignored)."""

    def list_documents(
        self,
        *,
        collection: str | None = None,
        status: DocStatus | None = None,
        limit: int = 50,
        offset: int = 0,
        tenant_id: str | None = None,
        readable: Sequence[str] | None = None,
        search: str | None = None,
    ) -> tuple[list[Document], int]:
        """Documents newest first, and the total count matching the same conditions.

        ``tenant_id``/``readable`` are the caller's access scope: ``readable`` (when not ``None``) lists the only
        collections that may appear, an empty list meaning none. ``search`` matches a case-insensitive substring
        of the file name or title."""

    def set_status(
        self,
        doc_id: str,
        status: DocStatus,
        *,
        error: str | None = None,
        error_code: str | None = None,
        failed_step: str | None = None,
        pages: int | None = None,
        title: str | None = None,
    ) -> None:
        """Move a document along its lifecycle. ``pages``/``title`` are stored when given."""

    def set_status_many(self, doc_ids: Sequence[str], status: DocStatus) -> None:
        """Move several documents to ``status`` in one write (error fields cleared); unknown ids are ignored."""

    def record_parsed(self, entries: Sequence[ParsedRecord]) -> None:
        """In one transaction, for each entry: store the document's extracted text (chunk offsets point into it;
        a second call replaces it), then the document moves to ``chunking`` with its ``pages`` and ``title``
        (when not ``None``). ``DocumentNotFound`` (and nothing written) if one is gone."""

    def get_text(self, doc_id: str) -> str | None: ...

    def commit_chunks(
        self, doc_id: str, chunks: Sequence[ChunkDraft], lexical: Sequence[str], model: str
    ) -> list[str]:
        """Atomically make ``chunks`` the document's chunks and mark it ``indexed``.

        ``lexical[i]`` is the analysed text of ``chunks[i]`` for the lexical index. Every chunk's embedding must
        already be in the embedding cache for ``model``. In the same transaction: the document's previous chunks
        are removed, ``num_chunks`` set, and every older version of its lineage (added before it, whatever their
        status; and the one it ``replaces``) is deleted with its chunks. Adds ``add``/``del`` rows to the change
        log. Returns the ids of the documents deleted (their originals are the caller's to remove).
        """

    def commit_chunks_many(
        self, items: Sequence[tuple[str, Sequence[ChunkDraft], Sequence[str]]], model: str
    ) -> list[str]:
        """:meth:`commit_chunks` for several ``(doc_id, chunks, lexical)`` in one transaction (all or none)."""

    def delete_document(self, doc_id: str) -> bool:
        """Delete the document, its text, its chunks (change log ``del`` rows) and its jobs, and so every document
        found inside it (``parent_id``, recursively). False if absent."""

    def list_children(self, doc_id: str) -> list[Document]:
        """The documents found inside ``doc_id`` (its attachments: ``parent_id = doc_id``), oldest first."""

    # -- chunks ----------------------------------------------------------------------------------------------
    def get_chunks(self, seqs: Sequence[int]) -> list[Chunk]:
        """Chunks by ``seq``, in the order asked; unknown seqs are skipped."""

    def get_chunk(self, chunk_id: str) -> Chunk | None: ...

    def list_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks by ordinal."""

    def count_chunks(self, collection: str | None = None) -> int: ...

    def chunks_by_collection(self) -> dict[str, int]:
        """Chunks per collection name (every tenant's together; collections without chunks count 0), for the
        ``rag_index_size`` gauge."""

    def chunk_languages(self, filters: SearchFilters | None = None) -> dict[str, int]:
        """Live chunks per language: the ISO 639-1 code each was analysed in (:attr:`ChunkDraft.language`; ``""``
        for chunks of unknown language, committed before the store kept it), only codes with chunks; with
        ``filters``, only the chunks they allow (the same filters as :meth:`search_lexical`). Retrieval restricts a
        query's languages to those of the chunks it may search (:func:`ragd.retrieve.analysis.present_languages`)."""

    def search_lexical(
        self, terms: Sequence[str], filters: SearchFilters | None, limit: int
    ) -> list[tuple[int, float]]:
        """BM25 over the analysed text: chunks matching any term, best first, as ``(seq, score)``.

        Higher score is better. Terms are plain analysed words; the store quotes them (no query syntax leaks). A
        term given n times weighs n times (query term frequency, as in BM25).
        """

    def allowed_seqs(self, filters: SearchFilters) -> np.ndarray:
        """The int64 seqs of every chunk that passes ``filters`` (the in-memory indexes mask with them)."""


@runtime_checkable
class EmbeddingCache(Protocol):
    """Vectors by ``(model, content hash)``: an unchanged chunk is never embedded twice."""

    def get_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached float32 vectors for the given content hashes (missing ones are absent from the result)."""

    def put_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        """Cache float32 vectors by content hash. Existing entries are kept."""


@runtime_checkable
class ChangeFeed(Protocol):
    """The change log the derived indexes follow (:mod:`ragd.index.follower`), and the full scans they rebuild
    from."""

    def changes_since(
        self, model: str, after: int, limit: int = 10_000
    ) -> list[tuple[int, int, str, np.ndarray | None]]:
        """Change-log rows with ``change_id > after``, ascending: ``(change_id, seq, op, vector)``.

        ``vector`` is the chunk's cached embedding for ``model`` on ``add`` rows whose chunk still exists, else
        ``None``.
        """

    def last_change_id(self) -> int: ...

    def iter_vectors(self, model: str, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every live chunk's vector for ``model`` as ``(seqs int64 [n], vectors float32 [n, dim])`` batches."""

    def lexical_changes_since(self, after: int, limit: int = 10_000) -> list[tuple[int, int, str, str | None]]:
        """Change-log rows with ``change_id > after``, ascending: ``(change_id, seq, op, lex)`` (feeds the
        in-memory lexical index). ``lex`` is the chunk's analysed text on ``add`` rows whose chunk still exists,
        else ``None``."""

    def iter_lexical(self, batch: int = 10_000) -> Iterator[list[tuple[int, str]]]:
        """Every live chunk's ``(seq, analysed text)``, in batches by ascending seq."""


@runtime_checkable
class JobQueue(Protocol):
    """Ingestion jobs: claimed under a lease, renewed while worked on, finished or released; each in a queue
    (:data:`ragd.models.JOB_QUEUES`), and, in broker mode, published to the broker after its commit.

    The store is the source of truth: a broker message only names a job, and whoever holds it must still claim it
    (:meth:`claim_job`); ``published_at`` records when a message was last sent, so that a sweeper (re)publishes
    exactly what was never published, what a backoff made due, and what a dead worker held
    (:meth:`jobs_to_publish`). Times are epoch seconds of the calling process's clock."""

    def enqueue_job(self, doc_id: str, kind: str = "ingest", *, queue: str = "interactive") -> int:
        """Queue a job for ``doc_id`` in ``queue``; returns its id. ``DocumentNotFound`` if the document is gone,
        ``ValidationFailed`` for an unknown queue."""

    def claim_jobs(
        self, worker_id: str, limit: int, lease_seconds: float = 600.0, *, max_bytes: int | None = None,
        max_size: int | None = None, queue: str | None = None,
    ) -> list[Job]:
        """Atomically take up to ``limit`` jobs, oldest first: queued ones (but not before their ``not_before``),
        and running ones whose lease expired (each claim increments ``attempts``); only those whose documents total
        at most ``max_bytes`` (the first is taken whatever its size), only jobs of documents of at most
        ``max_size`` bytes when given, and only jobs of ``queue`` when given. No job is ever held by two
        workers."""

    def claim_job(self, job_id: int, worker_id: str, lease_seconds: float = 600.0) -> Job | None:
        """Take exactly that job if it is queued (whatever its ``not_before``: its message came, so it is due) or
        running under an expired lease; ``attempts`` += 1. ``None`` when it is done, failed, held under a live
        lease, or absent."""

    def renew_jobs(self, worker_id: str, job_ids: Sequence[int], lease_seconds: float = 600.0) -> list[int]:
        """Extend the lease (and touch ``updated_at``) of those jobs still running under ``worker_id``; returns
        their ids (a job missing from the answer was lost: finished, deleted or taken by another worker)."""

    def finish_job(self, job_id: int, *, ok: bool, error: str | None = None, worker_id: str | None = None) -> None:
        """Mark a job done or failed; with ``worker_id``, only while that worker still holds it."""

    def finish_jobs(self, job_ids: Sequence[int], *, worker_id: str | None = None) -> None:
        """Mark several jobs done (``finish_job(id, ok=True)`` each) in one transaction."""

    def release_job(
        self, job_id: int, *, worker_id: str | None = None, delay_s: float = 0.0, error: str | None = None
    ) -> None:
        """Put a running job back in the queue for a retry, not claimable by :meth:`claim_jobs` before
        ``now + delay_s`` (its ``not_before``); ``error``, when given, is kept as the job's last error. With
        ``worker_id``, only while that worker holds it."""

    def requeue_running(self) -> int:
        """Put every running job back in the queue (embedded mode at start-up). Returns how many."""

    def queue_depth(self) -> int:
        """Jobs queued or running."""

    def unpublished_jobs(self, doc_ids: Sequence[str]) -> list[Job]:
        """The queued jobs of those documents never published (``published_at`` NULL), by id: what an upload
        publishes right after its commit."""

    def jobs_to_publish(self, *, grace_s: float, limit: int = 500) -> list[Job]:
        """What a sweeper must (re)publish now, by id, at most ``limit``: (a) queued jobs never published, created
        more than ``grace_s`` ago and due (``not_before`` NULL or past: a crash between commit and publish, or a
        broker that was down); (b) queued jobs whose ``not_before`` has come and that were last published before it
        (a backed-off retry now due); (c) running jobs whose lease ran out and that were not published since (a
        dead worker's job)."""

    def stale_published(self, queue: str, published_before: float, limit: int = 500) -> list[Job]:
        """Queued, due jobs of ``queue`` last published before ``published_before``, by id (asked only when the
        broker's queue is empty: their messages were lost)."""

    def mark_published(self, job_ids: Sequence[int], *, now: float | None = None) -> list[int]:
        """Set ``published_at = now`` (default: the clock) on those queued or running jobs never published or
        published more than a second before ``now``, in one conditional update; returns their ids, the only ones
        the caller may publish: of concurrent callers (sweepers on several machines) at most one gets a given
        id."""

    def job_counts(self) -> dict[str, dict[str, int]]:
        """``{queue: {status: count}}``: every queue of :data:`ragd.models.JOB_QUEUES` with every status
        (``queued``, ``running``, ``done``, ``failed``), zeros included."""

    def oldest_queued_age_s(self, queue: str | None = None) -> float:
        """Seconds since the oldest queued job (of ``queue`` when given) was created; 0 when none is queued."""

    def active_jobs_for_tenant(self, tenant_id: str) -> int:
        """Queued and running jobs of the documents of ``tenant_id`` (the per-tenant limit on queued work)."""


@runtime_checkable
class Store(DocumentStore, EmbeddingCache, JobQueue, ChangeFeed, MetaStore, Protocol):
    """Every port over one database, as one adapter object."""

    def migrate(self) -> None:
        """Create or upgrade the schema. Idempotent."""

    def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
