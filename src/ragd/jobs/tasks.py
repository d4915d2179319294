"""The ``ragd.ingest(job_id, document_id)`` task: the store decides, the message only wakes a worker up.

1. **Claim** exactly its job (:meth:`JobQueue.claim_job`). Nothing to claim — done, failed, held by a live lease
   elsewhere, deleted — and the task returns ``"skipped"``: a duplicate or stale message is harmless.
2. **Interactive first.** A task of the ``bulk`` queue, in a worker that also serves ``interactive``, first claims
   and processes the queued interactive jobs (their own messages then find nothing): whatever order the broker
   delivers in, a user's upload waits for at most the task running in each worker slot.
3. **Opportunistic batching.** A small document's task also claims up to ``jobs.batch_documents - 1`` more
   queued small documents of the same queue: one model call for many small documents.
4. **Process** them (:meth:`IngestService.process_batch`) under a lease renewed every third of
   ``jobs.lease_seconds``; a document already indexed or failed (the previous attempt did the work but could not
   finish its job) is not processed again. Finish the jobs.
5. **Failures.** Document errors (a corrupt file…) fail that document at once inside ``process_batch``, no retry.
   Any other exception (the store, a connection, the model) is retried: the job is released with exponential
   backoff and full jitter (``jobs.retry_base_s``, ``jobs.retry_max_s``; the sweeper publishes it when due) until
   ``ingest.max_attempts``, then its document is ``failed`` with the last error. A store that does not answer even
   to claim or release: the message itself is retried by Celery with the backoff, carrying the id of the lease to
   give back first (``release_from``) and those of the other jobs it had claimed with it (``held``: a batch's
   extra jobs, which would otherwise wait for their leases to run out).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from ragd.config import Settings
from ragd.errors import StoreUnavailable
from ragd.jobs.backoff import backoff_delay
from ragd.jobs.context import WorkerContext
from ragd.jobs.lease import renewing
from ragd.models import JOB_QUEUES, DocStatus, Job

log = logging.getLogger(__name__)

MAX_CELERY_RETRIES = 100
"""Retries of one message while the store cannot be reached at all (each waits the backoff, at most
``jobs.retry_max_s``); past them the message is dropped and the sweeper publishes the job again later."""
TRANSIENT: tuple[type[BaseException], ...] = (StoreUnavailable, ConnectionError, TimeoutError)
"""Failures of something other than the document: the store, a connection, a timeout."""
_DONE = (DocStatus.INDEXED, DocStatus.FAILED)

_context: WorkerContext | None = None
_context_pid = 0
_context_lock = threading.Lock()


def install_context(ctx: WorkerContext) -> None:
    """The context this process's tasks use (``ragd worker`` builds it before it consumes)."""
    global _context, _context_pid
    with _context_lock:
        _context, _context_pid = ctx, os.getpid()


def current_context(settings: Settings, queues: Sequence[str] = JOB_QUEUES) -> WorkerContext:
    """This process's context, built from ``settings`` on the first task when none was installed (a prefork
    child process, or ``celery -A ragd.jobs.celery_app worker`` started by hand)."""
    global _context, _context_pid
    with _context_lock:
        if _context is None or _context_pid != os.getpid():
            _context, _context_pid = WorkerContext(settings, queues=queues), os.getpid()
        return _context


def close_context() -> None:
    global _context
    with _context_lock:
        if _context is not None and _context_pid == os.getpid():
            _context.close()
        _context = None


def run_ingest(task: Any, job_id: int, document_id: str, release_from: str | None = None,
               held: Sequence[int] = ()) -> str:
    """The body of ``ragd.ingest`` (``task``: the bound Celery task). Returns the outcome."""
    ctx = current_context(task.app.ragd_settings, getattr(task.app, "ragd_queues", JOB_QUEUES))
    prefix = ctx.settings.jobs.queue_prefix
    routing_key = str((task.request.delivery_info or {}).get("routing_key") or "")
    queue = routing_key[len(prefix) + 1:] if routing_key.startswith(prefix + ".") else "interactive"
    run = _Run(ctx, task, f"{task.request.hostname}/{task.request.id}", queue, held)
    t0 = time.perf_counter()
    outcome = "retry"
    try:
        outcome = run.execute(job_id, release_from)
        return outcome
    finally:
        ctx.metrics.task_seconds.labels(queue, outcome).observe(time.perf_counter() - t0)
        log.debug("ragd.ingest job %s (document %s): %s", job_id, document_id, outcome)


class _Run:
    """One execution of the task."""

    def __init__(self, ctx: WorkerContext, task: Any, worker_id: str, queue: str, held: Sequence[int] = ()) -> None:
        self.ctx, self.task, self.worker_id, self.queue = ctx, task, worker_id, queue
        self.held = [int(i) for i in held]  # other jobs claimed by this message's tries, given back on a retry
        self.store = ctx.store
        s = ctx.settings
        self.jobs, self.lease, self.max_attempts = s.jobs, s.jobs.lease_seconds, s.ingest.max_attempts
        self.batch_bytes = int(s.ingest.batch_mb * 1024 * 1024)
        self.small_bytes = int(s.ingest.small_document_kb * 1024)
        self.outcome = "done"

    def execute(self, job_id: int, release_from: str | None) -> str:
        holder = self.worker_id  # whose leases a retry of this message must give back
        try:
            if release_from:  # the previous try of this message could not give its leases back
                holder = release_from  # (until they are: a retry, maybe on another worker, still owes them)
                for held_id in (job_id, *self.held):
                    self.store.release_job(held_id, worker_id=release_from)
                self.held = []
                holder = self.worker_id
            job = self.store.claim_job(job_id, self.worker_id, self.lease)
            if job is None:
                self.ctx.metrics.skipped.labels(self.queue).inc()
                return "skipped"
            self.queue = job.queue
            self._work(job)
            return self.outcome
        except TRANSIENT as exc:  # the store is unreachable even to claim, release or finish: retry the message
            self.ctx.metrics.retries.labels(self.queue, "store_unreachable").inc()
            delay = backoff_delay(self.task.request.retries + 1, self.jobs.retry_base_s, self.jobs.retry_max_s)
            log.warning("job %s: %s; retrying the message in %.1f s", job_id, exc, delay)
            raise self.task.retry(kwargs={"release_from": holder, "held": self.held}, countdown=delay,
                                  exc=exc) from exc

    def _work(self, job: Job) -> None:
        urgent: list[Job] = []
        extra: list[Job] = []
        if job.queue != "interactive" and "interactive" in self.ctx.queues:
            urgent = self.store.claim_jobs(self.worker_id, self.jobs.batch_documents, self.lease,
                                           max_bytes=self.batch_bytes, queue="interactive")
            self.held += [j.id for j in urgent]
        own = self.store.get_document(job.document_id)
        if self.jobs.batch_documents > 1 and own is not None and own.size <= self.small_bytes:
            extra = self.store.claim_jobs(self.worker_id, self.jobs.batch_documents - 1, self.lease,
                                          max_bytes=self.batch_bytes, max_size=self.small_bytes, queue=job.queue)
            self.held += [j.id for j in extra]
        mine = [job, *extra]
        with renewing(self.store, self.worker_id, [j.id for j in mine], self.lease):
            if urgent:  # the interactive jobs first, finished as soon as they ran
                with renewing(self.store, self.worker_id, [j.id for j in urgent], self.lease):
                    done = self._process(urgent)
                self.store.finish_jobs([j.id for j in done], worker_id=self.worker_id)
            done = self._process(mine)
        self.store.finish_jobs([j.id for j in done], worker_id=self.worker_id)

    def _process(self, jobs: Sequence[Job]) -> list[Job]:
        """Process the documents of ``jobs`` together; returns the jobs that ran to their end (the others were
        released for a retry or failed)."""
        todo = []
        for job in jobs:
            doc = self.store.get_document(job.document_id)
            if doc is None or doc.status not in _DONE:  # a missing one: process_batch skips it
                todo.append(job)
        if not todo:
            return list(jobs)
        skip = [j for j in jobs if j not in todo]
        try:
            self.ctx.ingest.process_batch([j.document_id for j in todo])
            return [*skip, *todo]
        except Exception as exc:
            if len(todo) == 1:
                self._retry_or_fail(todo[0], exc)
                return skip
            log.warning("a batch of %d jobs failed (%r): running them one by one", len(todo), exc)
        ran = list(skip)
        for job in todo:
            try:
                self.ctx.ingest.process_batch([job.document_id])
            except Exception as exc:
                self._retry_or_fail(job, exc)
                continue
            ran.append(job)
        return ran

    def _retry_or_fail(self, job: Job, exc: BaseException) -> None:
        """Release ``job`` for a retry after the backoff, or fail it (and its document) at its last attempt."""
        queue = job.queue
        reason = "transient" if isinstance(exc, TRANSIENT) else "error"
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if job.attempts >= self.max_attempts:
            log.error("job %s (document %s) failed after %d attempts: %s", job.id, job.document_id, job.attempts,
                      error, exc_info=exc)
            try:
                self.ctx.ingest.fail(job.document_id, f"failed after {job.attempts} attempts: {error}")
            except Exception as fail_exc:  # deleted meanwhile; or the store is down (raised again below)
                if isinstance(fail_exc, TRANSIENT):
                    raise
                log.warning("could not mark document %s failed: %r", job.document_id, fail_exc)
            self.store.finish_job(job.id, ok=False, error=error, worker_id=self.worker_id)
            self.ctx.metrics.failures.labels(queue).inc()
            self.outcome = "failed"
            return
        delay = backoff_delay(job.attempts, self.jobs.retry_base_s, self.jobs.retry_max_s)
        log.warning("job %s (document %s), attempt %d of %d: %s; retrying in %.1f s", job.id, job.document_id,
                    job.attempts, self.max_attempts, error, delay, exc_info=reason == "error")
        self.store.release_job(job.id, worker_id=self.worker_id, delay_s=delay, error=error)
        self.ctx.metrics.retries.labels(queue, reason).inc()
        if self.outcome == "done":
            self.outcome = "retry"
