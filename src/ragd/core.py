"""The composition root: :class:`Ragd` builds every adapter once from :class:`Settings` and hands each service only
the ports it uses. The HTTP API and the CLI are thin layers over it."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from threadpoolctl import threadpool_limits

from ragd.config import Settings
from ragd.embed import create_embedder
from ragd.errors import DocumentNotFound, ModelMismatch
from ragd.generate import create_generator
from ragd.generate.base import Answer
from ragd.generate.service import AnswerService
from ragd.ingest.files import FileStore
from ragd.ingest.pipeline import IngestService
from ragd.jobs.worker import WorkerPool
from ragd.models import DocStatus, Document, SearchFilters
from ragd.observability.instrument import Instrumentation
from ragd.retrieve.service import Mode, Retrieval, Retriever
from ragd.store import open_store
from ragd.store.conversations import open_conversation_store
from ragd.store.vectors import DenseIndex

log = logging.getLogger(__name__)


@dataclass(slots=True)
class QueryResult:
    retrieval: Retrieval
    answer: Answer | None
    timings_ms: dict[str, float]


class Ragd:
    """One ragd instance over one data directory (or one store URL)."""

    def __init__(self, settings: Settings, *, allow_model_change: bool = False) -> None:
        t0 = time.perf_counter()
        # numpy's BLAS only serves small matrix-vector products here (dense search); its thread pool costs more
        # in hand-offs than it saves (12 ms vs 0.2 ms per search on a busy 2-core machine). ONNX Runtime keeps
        # its own threads for the model.
        threadpool_limits(limits=1, user_api="blas")
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = open_store(settings.store_url)
        self.store.migrate()
        self.embedder = create_embedder(settings.embedding)
        self.model_changed = self._check_model(allow_model_change)
        self.index = DenseIndex(settings.data_dir / "index", self.embedder.name, self.embedder.dim)
        self._index_lock = threading.Lock()
        if not self.index.load():
            self.index.rebuild(self.store)
            self.index.save()
        self.index.sync(self.store)
        self.files = FileStore(settings.data_dir / "files")
        self.ingest = IngestService(self.store, self.embedder, self.files, settings, on_indexed=self._indexed)
        self.retriever = Retriever(self.store, self.embedder, self.index, settings.retrieval)
        self.generator = create_generator(settings, self.embedder)  # settings.llm.backend
        self.conversations = open_conversation_store(settings.store_url)
        self.answers = AnswerService(
            self.retriever, self.generator, self.conversations,
            observe=lambda q, r, a, t: self.obs.query_done(q, QueryResult(r, a, t)),
        )
        ing = settings.ingest
        self.workers = WorkerPool(
            self.store, self.ingest, workers=ing.workers, poll_interval=ing.poll_interval_s,
            max_attempts=ing.max_attempts,
            batch=ing.batch_documents,
        )
        self.obs = Instrumentation(settings, self)  # metrics, logs, spans: decorates the services above
        self.startup_ms = (time.perf_counter() - t0) * 1000

    def _check_model(self, allow_change: bool) -> bool:
        name, dim = self.store.get_meta("embedding_model"), self.store.get_meta("embedding_dim")
        current = (self.embedder.name, str(self.embedder.dim))
        if name is None:
            self.store.set_meta("embedding_model", current[0])
            self.store.set_meta("embedding_dim", current[1])
            return False
        if (name, dim) == current:
            return False
        if not allow_change:
            raise ModelMismatch(
                f"the index was built with {name} (dim {dim}) but the configured model is {current[0]} "
                f"(dim {current[1]}); run `ragd reindex` to re-embed every document with the new model"
            )
        self.store.set_meta("embedding_model", current[0])
        self.store.set_meta("embedding_dim", current[1])
        return True

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start background workers; jobs left running by a previous process are queued again."""
        n = self.store.requeue_running()
        if n:
            log.info("requeued %d interrupted ingestion jobs", n)
        self.workers.start()

    def close(self) -> None:
        self.workers.stop()
        with self._index_lock:
            self.index.sync(self.store)
            self.index.save()
        self.obs.close()
        getattr(self.generator, "close", lambda: None)()
        self.conversations.close()
        self.store.close()

    def _indexed(self) -> None:
        with self._index_lock:
            self.index.sync(self.store)

    # -- documents -------------------------------------------------------------------------------------------
    def submit(self, data: bytes, filename: str, **kw: Any) -> tuple[Document, bool]:
        sub = self.ingest.submit(data, filename, **kw)
        if not sub.duplicate:
            self.workers.notify()
        return sub.document, sub.duplicate

    def get_document(self, doc_id: str) -> Document:
        doc = self.store.get_document(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        return doc

    def reindex_all(self) -> int:
        """Queue every document for re-processing (after a model or chunking change). Returns how many."""
        n, offset = 0, 0
        while True:
            docs, _total = self.store.list_documents(limit=500, offset=offset)
            if not docs:
                return n
            for d in docs:
                if d.status != DocStatus.FAILED or d.error_code == "internal_error":
                    self.ingest.reindex(d.id)
                    n += 1
            offset += len(docs)

    def rebuild_index(self) -> int:
        """Rebuild the derived dense index from the store. Returns the number of vectors."""
        with self._index_lock:
            self.index.rebuild(self.store)
            self.index.save()
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
            ans = self.generator.answer(query, retrieval) if answer else None
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
