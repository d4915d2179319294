"""The composition root: :class:`Ragd` builds every adapter once from :class:`Settings` and hands each service only
the ports it uses. The HTTP API and the CLI are thin layers over it."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from threadpoolctl import threadpool_limits

from ragd.audit import load_signer
from ragd.audit.retention import run_retention
from ragd.auth.access import AccessService
from ragd.auth.actor import LOCAL_ACTOR, LOCAL_TENANT, Actor
from ragd.auth.credentials import jwt_secret
from ragd.auth.ratelimit import Decision, check_request, check_upload, open_rate_limiter
from ragd.auth.service import AuthService
from ragd.config import Settings
from ragd.embed import create_embedder, model_fingerprint
from ragd.embed.base import Embedder
from ragd.errors import ConfigurationError, Conflict, DocumentNotFound, ModelMismatch
from ragd.generate import create_generator
from ragd.generate.base import Answer
from ragd.generate.service import AnswerService
from ragd.index.dense import DenseIndex
from ragd.index.follower import IndexFollower
from ragd.index.lexical import LexicalIndex
from ragd.ingest.files import FileStore
from ragd.ingest.pipeline import IngestService, Submission, Upload
from ragd.ingest.sync_service import FolderSyncs
from ragd.jobs.dispatch import Dispatcher, open_dispatcher, queue_for
from ragd.jobs.worker import WorkerPool
from ragd.models import DocStatus, Document, SearchFilters
from ragd.observability.instrument import Instrumentation
from ragd.retrieve.rerank import create_reranker
from ragd.retrieve.service import DenseSearch, Mode, Retrieval, Retriever
from ragd.security.encryption import FileCipher
from ragd.security.filemodes import open_private, private_dir, tighten_data_dir
from ragd.store.backend import Backend, open_backend, store_identity
from ragd.store.base import MetaStore
from ragd.store.url import scheme_of

log = logging.getLogger(__name__)


@dataclass(slots=True)
class QueryResult:
    retrieval: Retrieval
    answer: Answer | None
    timings_ms: dict[str, float]


def require_shared_secrets(settings: Settings) -> None:
    """On a shared database (PostgreSQL: any number of replicas), the keys every replica must hold alike come from
    the settings, never from a key file each data directory would generate for itself: the audit signing key
    (entries signed by per-replica keys would not verify as one chain) and, with authentication on, the token
    secret (a token signed by one replica would be refused by the next)."""
    if scheme_of(settings.store_url) == "sqlite":
        return
    missing = []
    if settings.audit.signing_key is None or not settings.audit.signing_key.get_secret_value().strip():
        missing.append("RAGD_AUDIT__SIGNING_KEY (ragd audit generate-key)")
    if settings.auth.enabled and settings.auth.jwt_secret is None:
        missing.append("RAGD_AUTH__JWT_SECRET (32+ random characters)")
    if missing:
        raise ConfigurationError(
            "a PostgreSQL store is shared by every replica, which must hold the same keys: set "
            + " and ".join(missing) + " to the same value on every replica (docs/scaling.md)")


def check_model(store: MetaStore, embedder: Embedder, allow_change: bool) -> bool:
    """Record the embedding model in a new store, or check that it is the one the store's vectors were made with
    (:class:`ModelMismatch` otherwise, unless ``allow_change``). True when the model changed.

    Its fingerprint (:func:`ragd.embed.model_fingerprint`) is recorded too: another model under the same name is
    refused even by ``ragd reindex``, whose embeddings cache is keyed by the name (docs/embeddings.md)."""
    name, dim = store.get_meta("embedding_model"), store.get_meta("embedding_dim")
    current = (embedder.name, str(embedder.dim))
    stored_fp, fingerprint = store.get_meta("embedding_fingerprint"), model_fingerprint(embedder)
    if name is None:
        store.set_meta("embedding_model", current[0])
        store.set_meta("embedding_dim", current[1])
        if fingerprint:
            store.set_meta("embedding_fingerprint", fingerprint)
        return False
    if (name, dim) == current:
        if stored_fp and fingerprint and stored_fp != fingerprint:
            raise ModelMismatch(
                f"the configured model is not the one the index was built with, though both are named {name}: "
                "set embedding.model_name to the new model's own name, then run `ragd reindex` (docs/embeddings.md)")
        if fingerprint and not stored_fp:  # a store from before fingerprints: recorded from now on
            store.set_meta("embedding_fingerprint", fingerprint)
        return False
    if not allow_change:
        raise ModelMismatch(
            f"the index was built with {name} (dim {dim}) but the configured model is {current[0]} "
            f"(dim {current[1]}); run `ragd reindex` to re-embed every document with the new model"
        )
    store.set_meta("embedding_model", current[0])
    store.set_meta("embedding_dim", current[1])
    if fingerprint:
        store.set_meta("embedding_fingerprint", fingerprint)
    return True


def open_originals(settings: Settings, backend: Backend) -> FileStore:
    """Where uploaded originals live: files under DATA_DIR/files on SQLite, rows of the database on PostgreSQL
    (``backend.blobs``), so replicas and workers share them without a shared volume; sealed by the same cipher
    either way (docs/encryption.md)."""
    return FileStore(settings.data_dir / "files", FileCipher.from_settings(settings.encryption), backend.blobs)


class Ragd:
    """One ragd instance over one data directory (or one store URL)."""

    def __init__(self, settings: Settings, *, allow_model_change: bool = False) -> None:
        t0 = time.perf_counter()
        # numpy's BLAS only serves small matrix-vector products here (dense search); its thread pool costs more
        # in hand-offs than it saves (12 ms vs 0.2 ms per search on a busy 2-core machine). ONNX Runtime keeps
        # its own threads for the model.
        threadpool_limits(limits=1, user_api="blas")
        self.settings = settings
        private_dir(settings.data_dir)
        tighten_data_dir(settings.data_dir)  # a data directory an older version left readable to others
        require_shared_secrets(settings)
        # the one storage backend (SQLite file or PostgreSQL), chosen by the store URL: it owns the pool and the
        # migrations and hands out every port below (docs/architecture.md)
        self.backend = open_backend(settings.store_url)
        if settings.retrieval.dense_index == "store" and self.backend.engine != "postgresql":
            self.backend.close()
            raise ConfigurationError(
                f"retrieval.dense_index = store needs a PostgreSQL store (RAGD_STORE__URL=postgresql://…); the "
                f"{self.backend.engine} store keeps its dense index in memory: set retrieval.dense_index = memory")
        self.store = self.backend.store
        # metrics, logs, spans: the hooks each service calls explicitly (ragd.observability.hooks)
        self.obs = Instrumentation(settings)
        self.embedder = create_embedder(settings.embedding)
        self.model_changed = self._check_model(allow_model_change)
        # the saved dense index names the store it was built from: another database behind this data directory
        # (a new PostgreSQL, a restored file) means a rebuild, never foreign vectors
        self.store_id = store_identity(self.backend)
        self.index = self._dense_index()
        self._index_lock = threading.Lock()
        self._stopping = threading.Event()
        self.files = open_originals(settings, self.backend)
        self.identities = self.backend.identities
        self.ingest = IngestService(self.store, self.embedder, self.files, settings, on_indexed=self._indexed,
                                    collection_privacy=self.identities.collection_privacy, hooks=self.obs)
        self.reranker = create_reranker(settings.rerank)  # None unless RAGD_RERANK__BACKEND is set
        # BM25 in memory (settings.retrieval.lexical_index): searches use it once build_lexical_index() has run
        # (start() runs it in the background); until then the store's FTS5 answers, ranking alike
        self.lexical = LexicalIndex() if settings.retrieval.lexical_index == "memory" else None
        # one follower of the store's change feed for both derived indexes (ragd.index.follower): after each
        # ingested batch, and from a background thread (start()) so a replica catches up without queries
        self.follower = IndexFollower(self.store, self._derived_indexes, self._index_lock)
        self.retriever = Retriever(self.store, self.embedder, self.index, settings.retrieval, self.reranker,
                                   settings.rerank.candidates, self.lexical, hooks=self.obs)
        self.generator = create_generator(settings, self.embedder)  # settings.llm.backend
        self.conversations = self.backend.conversations
        # the audit trail (docs/audit.md): self.audit.append(...) / self.audit.record_decision(...)
        self.audit = self.backend.audit_log(load_signer(settings))
        secret = settings.auth.jwt_secret
        self.auth = AuthService(self.identities, settings.auth,
                                jwt_secret(secret.get_secret_value() if secret else None, settings.data_dir))
        self.access = AccessService(self.identities, settings.default_collection, settings.privacy)
        self.limiter = open_rate_limiter(settings.ratelimit.url, settings.data_dir) if settings.ratelimit.enabled \
            else None
        self.answers = AnswerService(
            self.retriever, self.generator, self.conversations,
            observe=lambda q, r, a, t: self.obs.query_done(q, QueryResult(r, a, t)),
            privacy=settings.privacy, collection_privacy=self.identities.collection_privacy,
        )
        ing = settings.ingest
        self.workers = WorkerPool(
            self.store, self.ingest, workers=ing.workers, poll_interval=ing.poll_interval_s,
            max_attempts=ing.max_attempts, lease_seconds=ing.lease_seconds,
            batch=ing.batch_documents, batch_bytes=int(ing.batch_mb * 1024 * 1024),
            small_bytes=int(ing.small_document_kb * 1024),
            retry_base_s=settings.jobs.retry_base_s, retry_max_s=settings.jobs.retry_max_s,
        )
        # who runs the jobs: the in-process pool above (embedded, the default) or `ragd worker` processes on Celery
        # (jobs.broker_url): then this process publishes jobs after their commit and sweeps (ragd.jobs.dispatch)
        self.dispatcher: Dispatcher = open_dispatcher(settings, self.store, self.workers)
        self.obs.attach(self)  # scrape-time state: chunks per collection, queue depth, index size
        self.syncs = FolderSyncs(self)  # sync.folders: synced in the background once started (ingest/sync_service.py)
        self.startup_ms = (time.perf_counter() - t0) * 1000

    def _dense_index(self) -> DenseSearch:
        """The dense side of retrieval (``retrieval.dense_index``): the in-memory index, loaded from its files (or
        rebuilt) and caught up with the store, or pgvector HNSW inside PostgreSQL, its table built at the first
        start (or after a model change) and kept by the database from then on."""
        s, name, dim = self.settings, self.embedder.name, self.embedder.dim
        if s.retrieval.dense_index == "store":  # PostgreSQL: checked when the backend opened
            from ragd.store.postgres.dense import PgVectorSearch

            search = PgVectorSearch(s.store_url, name, dim, ef_search=s.retrieval.hnsw_ef_search,
                                    iterative_scan=s.retrieval.hnsw_iterative_scan)
            try:
                if search.ensure_dense_index():
                    log.info("dense index built in PostgreSQL: %d vectors of %s", len(search), name)
            except BaseException:
                search.close()
                raise
            return search
        index = DenseIndex(s.data_dir / "index", name, dim, self.store_id)
        if not index.load():
            index.rebuild(self.store)
            index.save()
        index.sync(self.store)
        return index

    def _check_model(self, allow_change: bool) -> bool:
        return check_model(self.store, self.embedder, allow_change)

    # -- lifecycle -------------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """``"embedded"`` (in-process ingestion workers) or ``"celery"`` (``ragd worker`` processes, broker mode)."""
        return self.dispatcher.mode

    def start(self) -> None:
        """Start background workers. A single server process on its own SQLite file requeues the jobs a previous
        process left running; with several processes, or replicas sharing a PostgreSQL database, a sibling may be
        running them, so they come back only when their lease expires. In broker mode no ingestion runs here
        (``ragd worker`` processes do, maybe on this SQLite file): the sweeper starts instead."""
        if self.dispatcher.mode == "celery":
            self.dispatcher.start()
        else:
            if self.settings.server.workers == 1 and self.backend.engine == "sqlite":
                n = self.store.requeue_running()
                if n:
                    log.info("requeued %d interrupted ingestion jobs", n)
            self.workers.start()
        # the model's first full batch is slow (runtime allocations): pay it now, off the request path
        threading.Thread(target=self.embedder.warm_up, name="ragd-warm-up", daemon=True).start()
        if self.lexical is not None:  # load BM25 off the request path (readiness fails until it is built)
            threading.Thread(target=self.build_lexical_index, name="ragd-lexical", daemon=True).start()
        self.follower.start(self.settings.retrieval.follow_interval_s)
        a = self.settings.audit
        if any(days is not None for days in (a.conversation_days, a.query_log_days, a.audit_days)):
            self._retention = threading.Thread(target=self._retention_loop, name="ragd-retention", daemon=True)
            self._retention.start()
        self.syncs.start()

    def build_lexical_index(self) -> None:
        """Load the in-memory BM25 index from the store (nothing to do with ``lexical_index = store``)."""
        if self.lexical is None:
            return
        t0 = time.perf_counter()
        try:
            self.lexical.sync(self.store)
        except Exception:  # searches keep using the store's FTS5; readiness says the index is not built
            if not self._stopping.is_set():
                log.exception("building the in-memory BM25 index failed")
            return
        log.info("in-memory BM25 index built: %d chunks in %.0f ms", len(self.lexical),
                 (time.perf_counter() - t0) * 1000)

    def _retention_loop(self) -> None:
        """Apply the retention ages now and then every ``audit.retention_interval_minutes`` until closed."""
        while not self._stopping.is_set():
            try:
                run_retention(self.settings.audit, self.conversations, self.audit, actor=None)
            except Exception:
                log.exception("retention run failed; retrying at the next interval")
            self._stopping.wait(self.settings.audit.retention_interval_minutes * 60)

    def _derived_indexes(self) -> list[DenseIndex | LexicalIndex]:
        """The indexes this process derives from the change feed (pgvector search in PostgreSQL is the
        database's own, kept in the commit's transaction: nothing to follow)."""
        indexes: list[DenseIndex | LexicalIndex] = [self.index] if isinstance(self.index, DenseIndex) else []
        return indexes if self.lexical is None else [*indexes, self.lexical]

    def index_lag(self) -> int:
        """How many change ids the slowest derived index is behind the store (0: caught up; an in-memory BM25
        index still being built counts from 0)."""
        return self.follower.lag()

    def close(self) -> None:
        self._stopping.set()
        self.syncs.stop()
        self.follower.stop()
        self.dispatcher.close()
        self.workers.stop()
        with self._index_lock:
            self.index.sync(self.store)
            self.index.save()
        if not isinstance(self.index, DenseIndex):
            self.index.close()  # PostgreSQL's dense search: its handle on the pool
        self.obs.close()
        getattr(self.generator, "close", lambda: None)()
        if self.reranker is not None:
            self.reranker.close()
        if self.limiter is not None:
            self.limiter.close()
        self.backend.close()  # every port it handed out, then the pool

    def _indexed(self) -> None:
        """After each ingested batch: catch the derived indexes up here, so the next query need not."""
        self.follower.catch_up()

    def bootstrap_admin(self) -> str | None:
        """First start with authentication on and no user: create ``admin@localhost`` with a random password,
        written to ``DATA_DIR/initial-admin-password``. Returns the password (``None`` if nothing was done)."""
        if not (self.settings.auth.enabled and self.settings.auth.bootstrap_admin) or self.identities.count_users():
            return None
        password = secrets.token_urlsafe(18)
        try:
            user = self.auth.create_user("admin@localhost", password, "admin", LOCAL_TENANT)
        except Conflict:
            return None  # another server process got there first
        path = self.settings.data_dir / "initial-admin-password"
        with os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "w") as f:
            f.write(password + "\n")
        self.audit_event("user.created", None, tenant_id=LOCAL_TENANT, target=user.id,
                         details={"email": user.email, "role": "admin", "bootstrap": True})
        return password

    def rate_limit(self, actor: Actor, *, upload_bytes: int = 0, count_request: bool = True) -> None:
        """Count one request (``count_request``) and ``upload_bytes`` against the actor's limits (docs/ratelimits.md);
        RateLimited (429) when exceeded."""
        if self.limiter is None:
            return
        if count_request:
            check_request(self.limiter, actor, self.settings)
        if upload_bytes:
            check_upload(self.limiter, actor, self.settings, upload_bytes)

    def limiter_hit(self, key: str, limit: int, window_s: float, cost: int = 1) -> Decision | None:
        """One hit on a named limit (sign-in throttling); ``None`` when rate limiting is off."""
        return None if self.limiter is None else self.limiter.hit(key, limit, window_s, cost)

    def audit_event(self, action: str, actor: Actor | None, *, tenant_id: str | None = None,
                    target: str | None = None, details: dict[str, Any] | None = None) -> None:
        """Append a security event to the audit log (tenant: the actor's unless given)."""
        tenant = tenant_id or (actor.tenant_id if actor is not None else None)
        self.audit.append(action, tenant_id=tenant, actor=actor, target=target, details=details)

    def record_decision(self, actor: Actor, question: str, retrieval: Retrieval, answer: Answer,
                        query_id: str | None = None, **options: Any) -> None:
        """The signed audit decision record of one answered question (docs/audit.md)."""
        r = self.settings.retrieval
        settings = {"llm_backend": self.settings.llm.backend, "mode": options.get("mode") or r.mode,
                    "top_k": options.get("top_k") or r.top_k, "rrf_k": r.rrf_k, "bm25_weight": r.bm25_weight,
                    "dense_weight": r.dense_weight, "embedding_model": self.embedder.name}
        self.audit.record_decision(actor, question, retrieval.hits, answer.text, answer.model or self.answers.model,
                                   settings, target=query_id)

    def delete_collection(self, actor: Actor, name: str) -> int:
        """Delete a collection (its owner or an admin) with every document in it. The collection row, its grants,
        its documents (rows, chunks, jobs) and the ``collection.deleted`` audit entry commit as one transaction:
        a crash or an error in between leaves everything as it was. Originals are removed after the commit.
        Returns how many documents went."""
        deleted: list[str] = []
        with self.backend.unit_of_work():
            coll = self.access.delete(actor, name)
            while True:
                docs, _ = self.store.list_documents(tenant_id=coll.tenant_id, collection=coll.name, limit=200)
                if not docs:
                    break
                for d in docs:
                    self.ingest.delete_records(d.id)
                    deleted.append(d.id)
            self.audit_event("collection.deleted", actor, target=name, details={"documents": len(deleted)})
        self.ingest.discard(deleted)
        return len(deleted)

    def delete_document(self, actor: Actor, doc_id: str) -> Document:
        """Delete one document ``actor`` may write; its rows and the ``document.deleted`` audit entry commit as one
        transaction, its original is removed after the commit. DocumentNotFound when absent or not readable."""
        with self.backend.unit_of_work():
            doc = self.access.check_document(actor, self.store.get_document(doc_id), write=True)
            self.ingest.delete_records(doc_id)
            self.audit_event("document.deleted", actor, target=doc_id,
                             details={"collection": doc.collection, "filename": doc.filename})
        self.ingest.discard([doc_id])
        return doc

    # -- documents -------------------------------------------------------------------------------------------
    def submit(self, data: bytes, filename: str, **kw: Any) -> tuple[Document, bool]:
        sub = self.submit_many([Upload(data, filename, kw.pop("mime", None))], **kw)[0]
        return sub.document, sub.duplicate

    def submit_many(self, uploads: Sequence[Upload], *, queue: str | None = None, **kw: Any) -> list[Submission]:
        """Several files stored and queued with one durable write (:meth:`IngestService.submit_many`). A file
        name replaces another member's document only if the uploader may write it (:meth:`may_replace_others`).
        The jobs go to ``queue``, by default ``interactive`` below 20 files and ``bulk`` from 20
        (:func:`ragd.jobs.dispatch.queue_for`); once committed they are dispatched (the in-process workers woken,
        or their messages published)."""
        kw.setdefault("replace_others", self.may_replace_others(
            kw.get("tenant_id", LOCAL_TENANT), kw.get("collection"), kw.get("uploaded_by")))
        queue = queue or queue_for(len(uploads))
        subs = self.ingest.submit_many(uploads, queue=queue, **kw)
        pending = [s.document.id for s in subs if s.document.status is DocStatus.PENDING]
        if pending:
            self.dispatcher.jobs_added(pending, queue)
        return subs

    def reindex(self, doc_id: str, *, queue: str = "interactive") -> Document:
        """Queue one document for processing again and dispatch its job. DocumentNotFound when absent."""
        doc = self.ingest.reindex(doc_id, queue=queue)
        self.dispatcher.jobs_added([doc_id], queue)
        return doc

    def may_replace_others(self, tenant_id: str, collection: str | None, uploaded_by: str | None) -> bool:
        """Whether ``uploaded_by``'s upload may replace a document someone else uploaded to ``collection``: the
        local operator (no user, or auth off), an admin of the tenant, the collection's owner."""
        if uploaded_by is None or uploaded_by == LOCAL_ACTOR.user_id:
            return True
        user = self.identities.get_user(uploaded_by)
        if user is not None and user.role == "admin" and user.tenant_id == tenant_id:
            return True
        coll = self.identities.get_collection(tenant_id, collection or self.settings.default_collection)
        return coll is not None and coll.owner_id == uploaded_by

    def get_document(self, doc_id: str) -> Document:
        doc = self.store.get_document(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        return doc

    def tenant_user_ids(self, tenant_id: str) -> list[str]:
        """Ids of every user of a tenant (the local user belongs to the default tenant)."""
        users, _ = self.identities.list_users(tenant_id, limit=1_000_000)
        return [u.id for u in users] + (["local"] if tenant_id == LOCAL_TENANT else [])

    def readable_document(self, actor: Actor, doc_id: str) -> Document:
        """The document if ``actor`` may read it; DocumentNotFound otherwise (absent and forbidden look alike)."""
        return self.access.check_document(actor, self.store.get_document(doc_id))

    def reindex_all(self) -> int:
        """Queue every document for re-processing (after a model or chunking change), in the ``bulk`` queue.
        Returns how many."""
        n, offset = 0, 0
        while True:
            docs, _total = self.store.list_documents(limit=500, offset=offset)
            if not docs:
                return n
            queued = []
            for d in docs:
                if d.status != DocStatus.FAILED or d.error_code in ("internal_error", "encryption_key_missing"):
                    self.ingest.reindex(d.id, queue="bulk")
                    queued.append(d.id)
            self.dispatcher.jobs_added(queued, "bulk")
            n += len(queued)
            offset += len(docs)

    def rebuild_index(self) -> int:
        """Rebuild the derived indexes (dense, and BM25 when held in memory) from the store. Returns the number
        of vectors."""
        with self._index_lock:
            self.index.rebuild(self.store)
            self.index.save()
            if self.lexical is not None:
                self.lexical.rebuild(self.store)
            return len(self.index)

    # -- questions -------------------------------------------------------------------------------------------
    def query(
        self,
        query: str,
        *,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode | None = None,
        answer: bool = True,
    ) -> QueryResult:
        t0 = time.perf_counter()
        try:
            retrieval = self.retriever.search(query, top_k=top_k, filters=filters, mode=mode)
            ans = None
            if answer:
                with self.obs.span("generate"):
                    ans = self.generator.answer(query, retrieval)
            retrieval, ans = self.answers.protect(retrieval, ans)  # privacy.redact_answers (docs/privacy.md)
        except Exception as exc:
            self.obs.query_failed(exc)
            raise
        timings = dict(retrieval.timings_ms)
        if ans is not None:
            timings.update(ans.timings_ms)
        timings["total"] = (time.perf_counter() - t0) * 1000
        result = QueryResult(retrieval, ans, {k: round(v, 3) for k, v in timings.items()})
        self.obs.query_done(query, result)
        return result
