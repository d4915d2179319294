"""Metrics, logs and spans for one :class:`ragd.core.Ragd`: the real :class:`~ragd.observability.hooks.Hooks`.

The composition root builds :class:`Instrumentation` first and hands it to the services as their hooks; they
call it explicitly (``span``, ``observe``, ``batch``) around their steps, nothing is patched at run time. Once
the instance is built, :meth:`Instrumentation.attach` registers the scrape-time
:class:`~ragd.observability.metrics.StateCollector` over its store and index.

Request ids reach background jobs this way: ``submit`` runs inside the HTTP request, so the ``submitted`` event
remembers which request id queued which document (a bounded map); when a worker thread processes a batch,
:meth:`Instrumentation.batch` binds those ids to the log context, so the pipeline's own lines carry the ids of
the requests that caused them, and each ``document_processed`` line its own request's id.
(Jobs run by another process — ``ragd worker`` elsewhere — do not get the id: it is not stored.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import structlog

from ragd.errors import RagdError
from ragd.jobs import overview
from ragd.observability.logging import get_logger
from ragd.observability.metrics import JobsCollector, Metrics, StateCollector
from ragd.observability.tracing import Tracer

if TYPE_CHECKING:
    from ragd.config import Settings
    from ragd.core import QueryResult, Ragd
    from ragd.ingest.pipeline import Submission

_REMEMBERED = 10_000
log = get_logger("ragd.observability")


class Instrumentation:
    """``Instrumentation(settings)``: the hooks every service of one instance calls (protocol
    :class:`ragd.observability.hooks.Hooks`), and the query metrics the composition root reports."""

    def __init__(self, settings: Settings) -> None:
        self.metrics = Metrics(settings.metrics)
        self.tracer = Tracer(settings.tracing.enabled)
        self._settings = settings
        self._ragd: Ragd | None = None
        self._origin: OrderedDict[str, str] = OrderedDict()  # document id → request id that queued it
        self._lock = threading.Lock()

    def attach(self, ragd: Ragd) -> None:
        """Measure ``ragd``'s state at scrape time (chunks per collection, queue depth, index size, its database
        connection pool, the ingestion queues and, in broker mode, the broker's)."""
        self._ragd = ragd
        self.metrics.add_collector(StateCollector(
            ragd.store.chunks_by_collection, ragd.store.queue_depth, lambda: len(ragd.index), self._settings.data_dir,
            pool_usage=ragd.backend.pool_usage, token_budget_per_day=self._settings.metrics.token_budget_per_day,
        ))
        stats = overview.broker_stats(self._settings)
        self.metrics.add_collector(JobsCollector(
            lambda: overview.job_counts(ragd.store), lambda queues: overview.oldest_queued(ragd.store, queues),
            stats.status if stats is not None else None,
        ))

    def close(self) -> None:
        self.metrics.close()

    # -- hooks (ragd.observability.hooks.Hooks) --------------------------------------------------------------
    def span(self, name: str, **attributes: Any) -> AbstractContextManager[object]:
        return self.tracer.span(name, **attributes)

    def observe(self, event: str, **fields: Any) -> None:
        if event == "submitted":
            self._submitted(fields["submissions"])
        elif event == "document_processed":
            self._document_processed(**fields)

    @contextmanager
    def batch(self, doc_ids: Sequence[str]) -> Iterator[None]:
        with self._lock:
            rids = sorted({rid for d in doc_ids if (rid := self._origin.get(d))})
        with structlog.contextvars.bound_contextvars(request_ids=rids or None):
            yield

    def _submitted(self, submissions: Sequence[Submission]) -> None:
        rid = structlog.contextvars.get_contextvars().get("request_id")
        for sub in submissions:
            if sub.duplicate:
                self.metrics.cache_hit("upload")
            elif rid:
                with self._lock:
                    self._origin[sub.document.id] = rid
                    while len(self._origin) > _REMEMBERED:
                        self._origin.popitem(last=False)

    def _document_processed(self, *, document_id: str, status: str, error_code: str | None, batch: int,
                            batch_ms: float) -> None:
        with self._lock:
            rid = self._origin.pop(document_id, None)
        self.metrics.document_processed(status, error_code)
        log.info("document_processed", document_id=document_id, status=status, error_code=error_code,
                 request_id=rid, batch=batch, batch_ms=batch_ms)

    # -- questions -------------------------------------------------------------------------------------------
    def query_done(self, query: str, result: QueryResult) -> None:
        ans = result.answer
        status = "retrieved" if ans is None else ("answered" if ans.found else "no_answer")
        answer_text = ans.text if ans and ans.found else ""
        assert self._ragd is not None
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
            results=len(result.retrieval.hits),
            search_type=result.retrieval.mode,
        )

    def query_failed(self, exc: BaseException) -> None:
        self.metrics.query_failed(exc.code if isinstance(exc, RagdError) else "internal_error")
