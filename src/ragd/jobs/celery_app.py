"""The Celery application of broker mode (``RAGD_JOBS__BROKER_URL``): queues, reliability options, the
``ragd.ingest`` task, and the publisher the API processes and sweepers send messages with.

Imported only in broker mode (the embedded default never imports Celery). A message carries ids only and is only
a wake-up: the store decides what runs (:mod:`ragd.jobs.tasks`), so a duplicate or stale message is harmless.

``celery -A ragd.jobs.celery_app inspect ping`` (or ``flower``, ``events``) finds the module-level :data:`app`,
built on first access from :class:`ragd.config.Settings` (the ``RAGD_*`` environment)::

    app = make_app(Settings())                         # what `ragd worker` and the API processes build
    app.send_task(TASK_NAME, args=(job_id, doc_id), queue=queue_name(app, "interactive"))
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from ragd.config import Settings
from ragd.jobs.broker_stats import broker_queue, broker_status
from ragd.models import JOB_QUEUES, Job
from ragd.store.url import masked

log = logging.getLogger(__name__)

TASK_NAME = "ragd.ingest"
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.0, "interval_step": 0.2, "interval_max": 0.5}
"""Bounded: a publish to an unreachable broker gives up after about a second (the sweeper publishes later)."""
SOFT_LIMIT_MARGIN_S = 30.0


def queue_name(prefix: str, queue: str) -> str:
    """The broker queue of a job queue (``interactive`` → ``ragd.interactive``)."""
    return broker_queue(queue, prefix)


def broker_label(settings: Settings) -> str:
    """The broker URL with its password masked (for logs and messages)."""
    url = settings.jobs.broker_url
    return masked(url.get_secret_value()) if url is not None else "(none)"


def make_app(settings: Settings) -> Celery:
    """The Celery app of ``settings.jobs``: no result backend; late acknowledgement, redelivery when a worker is
    lost, prefetch 1; durable queues ``PREFIX.interactive`` and ``PREFIX.bulk`` on a direct exchange ``PREFIX``,
    persistent messages; task events for Flower; bounded publish retries. The ``ragd.ingest`` task is
    registered on it."""
    jobs = settings.jobs
    if jobs.broker_url is None:
        raise ValueError("make_app needs jobs.broker_url (broker mode)")
    url = jobs.broker_url.get_secret_value()
    exchange = Exchange(jobs.queue_prefix, type="direct", durable=True)
    queues = [Queue(queue_name(jobs.queue_prefix, q), exchange, routing_key=queue_name(jobs.queue_prefix, q),
                    durable=True) for q in JOB_QUEUES]
    hard = jobs.task_time_limit_s
    app = Celery("ragd", broker=url, set_as_current=False)
    app.conf.update(
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_queues=queues,
        task_default_queue=queue_name(jobs.queue_prefix, "interactive"),
        task_default_exchange=jobs.queue_prefix,
        task_default_exchange_type="direct",
        task_default_routing_key=queue_name(jobs.queue_prefix, "interactive"),
        task_create_missing_queues=False,
        task_default_delivery_mode="persistent",
        task_serializer="json",
        accept_content=["json"],
        worker_send_task_events=True,
        task_send_sent_event=True,
        broker_connection_retry_on_startup=True,
        task_publish_retry=True,
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        task_time_limit=hard,
        task_soft_time_limit=max(hard * 0.5, hard - SOFT_LIMIT_MARGIN_S),
        # a task still running when the broker connection drops finishes and records its work in the store; its
        # redelivered message then finds the job done (cancelling it would only waste the work)
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,  # ragd's own logging (JSON or console) stays in place
        broker_transport_options={
            # AMQP: a publish returns once the broker has the message (publisher confirms); without, a message
            # written on a connection that just died is lost silently, yet marked published
            "confirm_publish": True,
            # Redis: a message not acknowledged within this time is delivered again; it must outlive the longest
            # task
            "visibility_timeout": int(hard + 2 * jobs.lease_seconds),
        },
    )
    app.ragd_settings = settings  # type: ignore[attr-defined]  # the task builds its context from them

    from ragd.jobs import tasks

    @app.task(name=TASK_NAME, bind=True, shared=False, max_retries=tasks.MAX_CELERY_RETRIES)
    def ingest(self: Any, job_id: int, document_id: str, release_from: str | None = None,
               held: list[int] | None = None) -> str:
        return tasks.run_ingest(self, job_id, document_id, release_from, held or ())

    return app


class Publisher:
    """Sends ``ragd.ingest`` messages for jobs and reads the broker's queue depths. Never raises for a broker that
    is down: :meth:`publish` returns what was sent, the rest is the sweeper's."""

    def __init__(self, app: Celery, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self._lock = threading.Lock()
        self._failed_at = 0.0

    def publish(self, jobs: Sequence[Job]) -> list[int]:
        """Publish one message per job, in order, to its queue; returns the ids sent (a prefix of ``jobs``: the
        first failure stops, and is logged)."""
        sent: list[int] = []
        if not jobs:
            return sent
        try:
            with self.app.producer_or_acquire() as producer:
                for job in jobs:
                    self.app.send_task(TASK_NAME, args=(job.id, job.document_id), producer=producer,
                                       queue=queue_name(self.prefix, job.queue))
                    sent.append(job.id)
        except Exception as exc:  # the broker is down or refused: what was not sent stays for the sweeper
            with self._lock:
                now, first = time.monotonic(), self._failed_at == 0.0
                self._failed_at = now
            log.warning("publishing %d ingestion jobs to %s failed (%s: %s); the sweeper will publish them",
                        len(jobs) - len(sent), masked(self.app.conf.broker_url), type(exc).__name__, exc,
                        exc_info=first)
            return sent
        with self._lock:
            if self._failed_at:
                log.info("broker %s reachable again", masked(self.app.conf.broker_url))
            self._failed_at = 0.0
        return sent

    def close(self) -> None:
        """Close the app's broker connections (pooled producers)."""
        self.app.close()

    def recently_failed(self, within_s: float) -> bool:
        """Whether a publish failed less than ``within_s`` seconds ago (and none succeeded since)."""
        with self._lock:
            return self._failed_at != 0.0 and time.monotonic() - self._failed_at < within_s

    def ready_messages(self, queue: str) -> int | None:
        """Messages ready (not delivered to a worker) in the broker queue of ``queue`` (``interactive`` or
        ``bulk``); 0 for a queue the broker does not know yet; ``None`` when the broker is unreachable."""
        counts = self.queue_sizes([queue])
        return None if counts is None else counts[queue]

    def queue_sizes(self, queues: Sequence[str] = JOB_QUEUES) -> dict[str, int] | None:
        """:meth:`ready_messages` of several queues over one connection (:func:`ragd.jobs.broker_stats.
        broker_status`: passive queue declarations, short timeouts); ``None`` when the broker is unreachable."""
        status = broker_status(str(self.app.conf.broker_url), queues, prefix=self.prefix)
        if not status.reachable:
            log.debug("broker queue sizes unavailable: %s", status.error)
            return None
        return status.messages


_APP: Celery | None = None
_APP_LOCK = threading.Lock()


def __getattr__(name: str) -> Any:
    """``app`` (and ``celery``): the module-level app for ``celery -A ragd.jobs.celery_app …``, built lazily from
    the environment's settings on first access."""
    if name not in ("app", "celery"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    global _APP
    with _APP_LOCK:
        if _APP is None:
            settings = Settings()
            if settings.jobs.broker_url is None:
                raise RuntimeError("RAGD_JOBS__BROKER_URL is not set: ragd runs in embedded mode, without Celery")
            _APP = make_app(settings)
        return _APP
