"""Prometheus metrics of a ``ragd worker`` process (served on ``--metrics-port``): its tasks' latency, retries,
failures and skipped messages, next to the ingestion metrics of its pipeline (``rag_documents_processed_total``).

Names are stable (dashboards and alerts in ``deploy/`` use them):

* ``ragd_task_seconds{queue,outcome}`` histogram: one ``ragd.ingest`` task, from message to acknowledgement;
  ``outcome`` is ``done`` (its jobs ran), ``skipped`` (nothing to claim: a duplicate or stale message),
  ``retry`` (released with backoff, or the message retried while the store was unreachable) or ``failed``
  (its job reached ``ingest.max_attempts``);
* ``ragd_task_retries_total{queue,reason}``: retries, ``reason`` ``transient`` (store or connection errors),
  ``error`` (any other exception of the pipeline) or ``store_unreachable`` (the job could not even be claimed or
  released: the message itself is retried);
* ``ragd_task_failures_total{queue}``: jobs failed after their last attempt;
* ``ragd_tasks_skipped_total{queue}``: messages whose job was done, failed, held by another worker or gone;
* ``ragd_worker_ready``: 1 once the worker consumes from the broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import Metric

from ragd.models import JOB_QUEUES

TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
OUTCOMES = ("done", "skipped", "retry", "failed")
RETRY_REASONS = ("transient", "error", "store_unreachable")
METRIC_NAMES = ("ragd_task_seconds", "ragd_task_retries_total", "ragd_task_failures_total",
                "ragd_tasks_skipped_total", "ragd_worker_ready")


class TaskMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.task_seconds = Histogram("ragd_task_seconds", "ragd.ingest tasks: time from start to end, by queue "
                                      "and outcome (done, skipped, retry, failed).", ["queue", "outcome"],
                                      buckets=TASK_BUCKETS, registry=r)
        self.retries = Counter("ragd_task_retries", "Ingestion retries by queue and reason (transient, error, "
                               "store_unreachable).", ["queue", "reason"], registry=r)
        self.failures = Counter("ragd_task_failures", "Jobs failed after their last attempt, by queue.", ["queue"],
                                registry=r)
        self.skipped = Counter("ragd_tasks_skipped", "Messages whose job needed nothing (duplicate or stale), by "
                               "queue.", ["queue"], registry=r)
        for q in JOB_QUEUES:
            self.failures.labels(q)
            self.skipped.labels(q)
            for reason in RETRY_REASONS:
                self.retries.labels(q, reason)


def readiness() -> tuple[CollectorRegistry, Gauge]:
    """The ``ragd_worker_ready`` gauge of the worker's main process, in a registry of its own."""
    registry = CollectorRegistry()
    return registry, Gauge("ragd_worker_ready", "1 once this worker consumes from the broker.", registry=registry)


class Chained:
    """A collector yielding the metrics of other registries (one HTTP endpoint for several registries)."""

    def __init__(self, *sources: Any) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self._sources:
            yield from source.collect()
