"""Attach metrics, logs and spans to a built :class:`ragd.core.Ragd` without touching the services.

:class:`Instrumentation` is created last by the composition root. It decorates the instance's service methods
(ingest submit / process, retrieval, answer generation, embedding) in place — the services stay unaware of
observability — and registers the scrape-time :class:`~ragd.observability.metrics.StateCollector`.

Request ids reach background jobs this way: ``submit`` runs inside the HTTP request, so it remembers which
request id queued which document (a bounded map); when a worker thread processes a batch it binds those ids to
the log context, so the pipeline's own lines and the ``document_processed`` line carry the id of the request
that caused them.
(Jobs run by another process — ``ragd worker`` elsewhere — do not get the id: it is not stored.)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import structlog

from ragd.errors import RagdError
from ragd.observability.logging import get_logger
from ragd.observability.metrics import Metrics, StateCollector
from ragd.observability.tracing import Tracer
from ragd.ops.sqlite_inspect import SqliteInspector, sqlite_path

if TYPE_CHECKING:
    from ragd.config import Settings
    from ragd.core import QueryResult, Ragd

_REMEMBERED = 10_000
log = get_logger("ragd.observability")


class Instrumentation:
    def __init__(self, settings: Settings, ragd: Ragd) -> None:
        self.metrics = Metrics(settings.metrics)
        self.tracer = Tracer(settings.tracing.enabled)
        self._ragd = ragd
        self._origin: OrderedDict[str, str] = OrderedDict()  # document id → request id that queued it
        self._lock = threading.Lock()
        self._inspector: SqliteInspector | None = None
        path = sqlite_path(ragd.store)
        if path is not None:
            self._inspector = SqliteInspector(path)
        self.metrics.add_collector(StateCollector(
            self._chunks_by_collection, ragd.store.queue_depth, lambda: len(ragd.index), settings.data_dir,
        ))
        self._wrap()

    def close(self) -> None:
        self.metrics.close()
        if self._inspector is not None:
            self._inspector.close()

    def _chunks_by_collection(self) -> dict[str, int]:
        if self._inspector is not None:
            return self._inspector.chunks_by_collection()
        return {"_all": self._ragd.store.count_chunks()}

    # -- decoration ------------------------------------------------------------------------------------------
    def _wrap(self) -> None:
        r, t = self._ragd, self.tracer
        submit_many, process = r.ingest.submit_many, r.ingest.process_batch

        def submit_many_(uploads: Any, **kw: Any) -> Any:
            subs = submit_many(uploads, **kw)
            rid = structlog.contextvars.get_contextvars().get("request_id")
            for sub in subs:
                if sub.duplicate:
                    self.metrics.cache_hit("upload")
                elif rid:
                    with self._lock:
                        self._origin[sub.document.id] = rid
                        while len(self._origin) > _REMEMBERED:
                            self._origin.popitem(last=False)
            return subs

        def process_(doc_ids: list[str]) -> Any:
            with self._lock:
                origins = {d: self._origin.pop(d, None) for d in doc_ids}
            rids = sorted({o for o in origins.values() if o})
            with structlog.contextvars.bound_contextvars(request_ids=rids or None), t.span(
                "ingest", documents=len(doc_ids)
            ):
                t0 = time.perf_counter()
                statuses = process(doc_ids)
                took = round((time.perf_counter() - t0) * 1000, 1)
            for doc_id, status in statuses.items():
                code = None
                if status.value == "failed":
                    doc = r.store.get_document(doc_id)
                    code = doc.error_code if doc else None
                self.metrics.document_processed(status.value, code)
                log.info("document_processed", document_id=doc_id, status=status.value, error_code=code,
                         request_id=origins.get(doc_id), batch=len(doc_ids), batch_ms=took)
            return statuses

        r.ingest.submit_many = submit_many_  # type: ignore[method-assign]
        r.ingest.process_batch = process_  # type: ignore[method-assign]
        if t.enabled:
            r.retriever.search = t.wrap("search", r.retriever.search)  # type: ignore[method-assign]
            r.generator.answer = t.wrap("generate", r.generator.answer)  # type: ignore[method-assign]
            r.embedder.embed = t.wrap("embed", r.embedder.embed)  # type: ignore[method-assign]
            r.embedder.embed_query = t.wrap("embed", r.embedder.embed_query)  # type: ignore[method-assign]
            if r.reranker is not None:
                r.reranker.scores = t.wrap("rerank", r.reranker.scores)  # type: ignore[method-assign]
            prepare = getattr(r.ingest, "_prepare", None)
            if prepare is not None:  # parsing + chunking of one document
                r.ingest._prepare = t.wrap("parse", prepare)  # type: ignore[method-assign]

    # -- questions -------------------------------------------------------------------------------------------
    def query_done(self, query: str, result: QueryResult) -> None:
        ans = result.answer
        status = "retrieved" if ans is None else ("answered" if ans.found else "no_answer")
        answer_text = ans.text if ans and ans.found else ""
        tokens_in, tokens_out = self._ragd.embedder.count_tokens([query, answer_text])
        timings = result.timings_ms
        generation = timings.get("generate")
        self.metrics.observe_query(
            status,
            retrieval_s=timings.get("retrieval", 0.0) / 1000,
            generation_s=generation / 1000 if generation is not None else None,
            total_s=timings.get("total", 0.0) / 1000,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )

    def query_failed(self, exc: BaseException) -> None:
        self.metrics.query_failed(exc.code if isinstance(exc, RagdError) else "internal_error")
