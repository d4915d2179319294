"""Prometheus metrics with stable names (dashboards and alert rules in ``deploy/`` rely on them).

The ingestion queues (issue 16) are measured under ``ragd_*`` names by :class:`JobsCollector`; ``ragd worker``
processes export the task metrics (``ragd_task_*``) on their own ``--metrics-port``.

One :class:`Metrics` per :class:`ragd.core.Ragd`, with its own registry (several instances in one process
never collide). Event metrics (counters, histograms, the in-flight gauge) are recorded as things happen; state
metrics (index size per collection, ingest queue depth, disk and memory) are read from the store and the
system at scrape time by :class:`StateCollector`, so every process reports the same truth.

Several server worker processes: set ``RAGD_METRICS__MULTIPROC_DIR`` (or prometheus-client's own
``PROMETHEUS_MULTIPROC_DIR``) to an empty directory shared by the workers. Event metrics are then written to
memory-mapped files there and summed across processes at scrape time (prometheus-client multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from ragd.config import MetricsSettings, export_prometheus_multiproc_dir
from ragd.jobs.broker_stats import BrokerStatus
from ragd.observability.compat_names import Families, alias_families
from ragd.security.filemodes import private_dir

if TYPE_CHECKING:
    from ragd.store.backend import PoolUsage

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
"""2 s and 10 s are boundaries: the latency alerts (deploy/prometheus/alerts.yml) compare p95 with them exactly."""
#: Passages returned per question: the buckets of the RAG recipes' ``rag_query_results_count`` (top_k ≤ 100).
RESULTS_BUCKETS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)

#: Every metric ragd itself exports (the ``_total``/``_bucket`` suffixes are added by the exposition format).
METRIC_NAMES = (
    "rag_queries_total", "rag_query_results_count", "rag_retrieval_latency_seconds", "rag_generation_latency_seconds",
    "rag_total_latency_seconds", "rag_index_size", "rag_documents_processed_total", "rag_ingest_queue_depth",
    "rag_cache_hits_total", "rag_requests_total", "rag_request_duration_seconds", "rag_active_connections",
    "rag_model_tokens_total", "rag_feedback_total", "rag_errors_total",
    "rag_disk_free_ratio", "rag_disk_free_bytes", "rag_memory_usage_ratio", "rag_dense_index_vectors",
    "ragd_jobs", "ragd_jobs_oldest_queued_seconds",
    "ragd_cpu_seconds_total", "ragd_cpu_limit_cores", "ragd_db_pool_connections", "ragd_db_pool_max",
    "ragd_db_pool_waiting", "ragd_token_budget_per_day",
)
#: What a server exports in broker mode only (``jobs.broker_url`` set).
BROKER_METRIC_NAMES = ("ragd_broker_messages", "ragd_broker_reachable")


def _enable_multiprocess(directory: Path) -> None:
    """Switch prometheus-client to memory-mapped values in ``directory`` (its API is environment-driven)."""
    private_dir(directory)
    export_prometheus_multiproc_dir(directory)
    if getattr(values.ValueClass, "__name__", "") != "MmapedValue":
        values.ValueClass = values.MultiProcessValue()


class Metrics:
    """The event metrics of one ragd instance and the exposition of everything."""

    def __init__(self, settings: MetricsSettings | None = None) -> None:
        self.settings = settings or MetricsSettings()
        self.multiproc_dir = Path(self.settings.multiproc_dir) if self.settings.multiproc_dir else None
        if self.multiproc_dir is not None:
            _enable_multiprocess(self.multiproc_dir)
        self.registry = CollectorRegistry()
        r = self.registry
        self.queries = Counter("rag_queries", "Questions answered, by outcome (answered, no_answer, error).",
                               ["status"], registry=r)
        self.results_count = Histogram("rag_query_results_count", "Passages returned per question (queries and "
                                       "chat turns), by search type (hybrid, bm25, dense).", ["search_type"],
                                       buckets=RESULTS_BUCKETS, registry=r)
        self.retrieval_latency = Histogram("rag_retrieval_latency_seconds", "Retrieval time per question.",
                                           buckets=LATENCY_BUCKETS, registry=r)
        self.generation_latency = Histogram("rag_generation_latency_seconds", "Answer generation time.",
                                            buckets=LATENCY_BUCKETS, registry=r)
        self.total_latency = Histogram("rag_total_latency_seconds", "Whole question time.",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.documents = Counter("rag_documents_processed", "Documents through the ingestion pipeline, by "
                                 "final status (indexed, failed).", ["status"], registry=r)
        self.cache_hits = Counter("rag_cache_hits", "Work avoided by a cache (upload: identical bytes).",
                                  ["cache"], registry=r)
        self.requests = Counter("rag_requests", "HTTP requests by method, route template and status.",
                                ["method", "route", "status"], registry=r)
        self.request_duration = Histogram("rag_request_duration_seconds", "HTTP request duration.",
                                          ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)
        self.active = Gauge("rag_active_connections", "HTTP requests in flight.", registry=r,
                            multiprocess_mode="livesum")
        self.tokens = Counter("rag_model_tokens", "Model tokens of questions (input) and answers (output).",
                              ["direction"], registry=r)
        self.feedback_total = Counter("rag_feedback", "User feedback on answers, by rating.", ["rating"],
                                      registry=r)
        self.errors = Counter("rag_errors", "Errors by stable error code (API responses, failed documents).",
                              ["code"], registry=r)
        for status in ("answered", "no_answer", "error"):
            self.queries.labels(status)
        for status in ("indexed", "failed"):
            self.documents.labels(status)
        for direction in ("input", "output"):
            self.tokens.labels(direction)
        for rating in ("up", "down"):
            self.feedback_total.labels(rating)
        self.cache_hits.labels("upload")
        self._collectors: list[Any] = []
        self._process = ProcessCollector(registry=None)

    # -- recording -------------------------------------------------------------------------------------------
    def observe_query(self, status: str, *, retrieval_s: float | None, generation_s: float | None,
                      total_s: float, tokens_in: int = 0, tokens_out: int = 0, results: int | None = None,
                      search_type: str = "") -> None:
        self.queries.labels(status).inc()
        if results is not None:
            self.results_count.labels(search_type or "unknown").observe(results)
        if retrieval_s is not None:
            self.retrieval_latency.observe(retrieval_s)
        if generation_s is not None:
            self.generation_latency.observe(generation_s)
        self.total_latency.observe(total_s)
        if tokens_in:
            self.tokens.labels("input").inc(tokens_in)
        if tokens_out:
            self.tokens.labels("output").inc(tokens_out)

    def query_failed(self, code: str) -> None:
        self.queries.labels("error").inc()
        self.errors.labels(code).inc()

    def document_processed(self, status: str, error_code: str | None = None) -> None:
        self.documents.labels(status).inc()
        if status == "failed" and error_code:
            self.errors.labels(error_code).inc()

    def cache_hit(self, cache: str) -> None:
        self.cache_hits.labels(cache).inc()

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.request_duration.labels(method, route).observe(seconds)

    def error(self, code: str) -> None:
        self.errors.labels(code).inc()

    def feedback(self, rating: str) -> None:
        """Count a user's rating of an answer (``up`` or ``down``); the feedback endpoint calls this."""
        self.feedback_total.labels(rating).inc()

    # -- exposition ------------------------------------------------------------------------------------------
    def add_collector(self, collector: Any) -> None:
        """A scrape-time collector (an object with ``collect()``), e.g. :class:`StateCollector`."""
        self._collectors.append(collector)
        if self.multiproc_dir is None:
            self.registry.register(collector)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition of every metric, and its content type. Each collector is read once per scrape;
        with ``compat_names`` on, the old deployments' names are added, renamed from what was read
        (:mod:`ragd.observability.compat_names`)."""
        if self.multiproc_dir is None:
            registry = self.registry
            extra: Iterable[Any] = [self._process]
        else:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(self.multiproc_dir))
            extra = [*self._collectors, self._process]
        families = list(registry.collect())
        if self.settings.compat_names:
            families.extend(alias_families(families))
        body = generate_latest(Families(families)) + b"".join(generate_latest(c) for c in extra)
        return body, CONTENT_TYPE_LATEST

    def close(self) -> None:
        """In multiprocess mode, drop this process's live gauges (its in-flight count)."""
        if self.multiproc_dir is not None:
            mark_process_dead(os.getpid(), str(self.multiproc_dir))


class StateCollector:
    """Scrape-time gauges: chunks per collection, queue depth, dense vectors, disk, memory and CPU; the database
    connection pool (``pool_usage`` given) and the daily token budget (``metrics.token_budget_per_day``)."""

    def __init__(
        self,
        chunks_by_collection: Callable[[], dict[str, int]],
        queue_depth: Callable[[], int],
        dense_vectors: Callable[[], int],
        data_dir: Path,
        *,
        pool_usage: Callable[[], PoolUsage] | None = None,
        token_budget_per_day: int = 0,
    ) -> None:
        self._chunks = chunks_by_collection
        self._queue = queue_depth
        self._dense = dense_vectors
        self._data_dir = data_dir
        self._pool = pool_usage
        self._budget = token_budget_per_day

    def collect(self) -> Iterator[Metric]:
        from ragd.observability.resources import cpu_limit_cores, cpu_seconds, disk_usage, memory_usage

        size = GaugeMetricFamily("rag_index_size", "Chunks in the index, per collection.",
                                 labels=["collection"])
        for collection, n in sorted(self._chunks().items()):
            size.add_metric([collection], n)
        yield size
        yield GaugeMetricFamily("rag_ingest_queue_depth", "Ingestion jobs queued or running.",
                                value=self._queue())
        yield GaugeMetricFamily("rag_dense_index_vectors", "Vectors in this process's dense index.",
                                value=self._dense())
        disk = disk_usage(self._data_dir)
        yield GaugeMetricFamily("rag_disk_free_ratio", "Free fraction of the data directory's file system.",
                                value=1.0 - disk.ratio)
        yield GaugeMetricFamily("rag_disk_free_bytes", "Free bytes on the data directory's file system.",
                                value=disk.total - disk.used)
        yield GaugeMetricFamily("rag_memory_usage_ratio", "Memory in use / cgroup limit or host RAM.",
                                value=memory_usage().ratio)
        yield CounterMetricFamily("ragd_cpu_seconds", "CPU time used by ragd's cgroup (the container: all its "
                                  "processes), or by this process where no cgroup accounting is readable.",
                                  value=cpu_seconds())
        yield GaugeMetricFamily("ragd_cpu_limit_cores", "CPU cores ragd may use: the cgroup's CPU quota, else the "
                                "CPUs this process may run on.", value=cpu_limit_cores())
        yield GaugeMetricFamily("ragd_token_budget_per_day", "Model tokens allowed in 24 hours "
                                "(metrics.token_budget_per_day; 0: no budget).", value=self._budget)
        if self._pool is not None:
            usage = self._pool()
            connections = GaugeMetricFamily("ragd_db_pool_connections", "This process's database connections, by "
                                            "state (in_use: lent to a request or job, idle: open in the pool).",
                                            labels=["state"])
            connections.add_metric(["in_use"], usage.in_use)
            connections.add_metric(["idle"], usage.idle)
            yield connections
            yield GaugeMetricFamily("ragd_db_pool_max", "The most database connections this process's pool opens.",
                                    value=usage.max)
            yield GaugeMetricFamily("ragd_db_pool_waiting", "Threads of this process waiting for a database "
                                    "connection.", value=usage.waiting)


class JobsCollector:
    """Scrape-time gauges of the ingestion queues, from the store: ``ragd_jobs{queue,state}`` and
    ``ragd_jobs_oldest_queued_seconds{queue}``; in broker mode (``broker`` given) also
    ``ragd_broker_reachable`` and, when it answered, ``ragd_broker_messages{queue}``."""

    def __init__(
        self,
        job_counts: Callable[[], dict[str, dict[str, int]]],
        oldest_queued_s: Callable[[list[str]], dict[str, float]],
        broker: Callable[[], BrokerStatus] | None = None,
    ) -> None:
        self._counts = job_counts
        self._oldest = oldest_queued_s
        self._broker = broker

    def collect(self) -> Iterator[Metric]:
        counts = self._counts()
        jobs = GaugeMetricFamily("ragd_jobs", "Ingestion jobs in the store, by queue and state (queued, running, "
                                 "done, failed).", labels=["queue", "state"])
        for queue, states in counts.items():
            for state, n in states.items():
                jobs.add_metric([queue, state], n)
        yield jobs
        oldest = GaugeMetricFamily("ragd_jobs_oldest_queued_seconds", "Age of the oldest queued ingestion job "
                                   "of each queue (0: none queued).", labels=["queue"])
        for queue, age in self._oldest(list(counts)).items():
            oldest.add_metric([queue], age)
        yield oldest
        if self._broker is None:
            return
        status = self._broker()
        yield GaugeMetricFamily("ragd_broker_reachable", "1 when the broker answered this scrape, else 0.",
                                value=1.0 if status.reachable else 0.0)
        messages = GaugeMetricFamily("ragd_broker_messages", "Messages waiting in the broker queue of each "
                                     "ingestion queue (not yet delivered to a worker).", labels=["queue"])
        for queue, n in status.messages.items():
            messages.add_metric([queue], n)
        yield messages
