"""In-process ingestion workers: threads that claim jobs from the store's job table.

Jobs live in the store, so they survive a restart: at start-up the embedded server puts back every job that was
running when the previous process died (:meth:`Store.requeue_running`), and a job whose worker vanished is also
reclaimed when its lease expires (for several processes sharing one store).

What a worker claims is what it processes next: at most ``batch`` jobs whose originals total at most
``batch_bytes`` (the first one whatever its size), so the jobs it is not working on stay queued for any other
worker and their documents stay ``pending``. Besides the ``workers`` threads, a *small lane* thread takes only
documents of at most ``small_bytes``: a one-line text uploaded behind a 600-page PDF is indexed while the PDF is
still being parsed, instead of after it. While a batch runs, a heartbeat renews its leases every third of the lease
(and touches the jobs, so ``ragd doctor`` does not call them stuck); a worker finishes or releases only the jobs it
still holds. When a batch fails unexpectedly, its documents are run again one by one, so one bad document fails
alone (after ``max_attempts``) and the others are indexed. A job that failed for an unexpected reason is retried
after a backoff (:func:`ragd.jobs.backoff.backoff_delay`: exponential from ``retry_base_s`` up to ``retry_max_s``,
with full jitter): the store does not hand it to :meth:`Store.claim_jobs` before then, and :meth:`WorkerPool.drain`
waits for the retries it put off.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from ragd.errors import StoreUnavailable
from ragd.ingest.pipeline import IngestService
from ragd.jobs.backoff import backoff_delay
from ragd.jobs.lease import renewing
from ragd.models import DocStatus, Job
from ragd.store.base import JobQueue

log = logging.getLogger(__name__)
STORE_BACKOFF_MAX_S = 30.0
"""Longest pause between two polls of a store that does not answer (the pause doubles from the poll interval)."""


class WorkerPool:
    def __init__(
        self,
        store: JobQueue,
        ingest: IngestService,
        *,
        workers: int = 1,
        poll_interval: float = 0.2,
        max_attempts: int = 3,
        lease_seconds: float = 600.0,
        batch: int = 8,
        batch_bytes: int | None = None,
        small_bytes: int = 0,
        retry_base_s: float = 2.0,
        retry_max_s: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._ingest = ingest
        self._n = workers
        self._poll = poll_interval
        self._max_attempts = max_attempts
        self._lease = lease_seconds
        self._batch = batch
        self._batch_bytes = batch_bytes
        self._small = small_bytes
        self._retry_base = retry_base_s
        self._retry_max = retry_max_s
        self._rng = rng or random.Random()
        self._retries: dict[int, float] = {}  # job id -> when its retry is due (epoch s): what drain waits for
        self._retries_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake: list[threading.Event] = []
        self._threads: list[threading.Thread] = []
        self._id = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def start(self) -> None:
        lanes: list[tuple[str, int | None]] = [(str(i), None) for i in range(self._n)]
        if self._n and self._small > 0:
            lanes.append(("small", self._small))
        for name, max_size in lanes:
            wake = threading.Event()
            t = threading.Thread(target=self._loop, name=f"ragd-worker-{name}",
                                 args=(f"{self._id}-{name}", wake, max_size), daemon=True)
            self._wake.append(wake)
            t.start()
            self._threads.append(t)

    def notify(self) -> None:
        """Wake idle workers (a job was just queued)."""
        for wake in self._wake:
            wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.notify()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()
        self._wake.clear()

    def _loop(self, worker_id: str, wake: threading.Event, max_size: int | None) -> None:
        outage = 0  # consecutive polls that found the store unavailable
        while not self._stop.is_set():
            try:
                worked = self.run_one(worker_id, max_size=max_size)
                outage = 0
            except StoreUnavailable as exc:  # the database is down or restarting: wait longer each time
                outage += 1
                if outage == 1 or outage % 10 == 0:
                    log.warning("worker %s: %s (retrying with backoff)", worker_id, exc.detail)
                self._stop.wait(min(STORE_BACKOFF_MAX_S, self._poll * 2 ** min(outage, 10)))
                continue
            except Exception:  # the store itself failed: back off and try again
                log.exception("worker %s: unexpected error", worker_id)
                worked = False
            if not worked:
                wake.wait(self._poll)
                wake.clear()

    def run_one(self, worker_id: str | None = None, on_done: Callable[[str, str], None] | None = None, *,
                max_size: int | None = None) -> bool:
        """Claim the next jobs (``batch`` at most, ``batch_bytes`` of originals at most; only documents of at
        most ``max_size`` bytes when given) and process them together. False when there was nothing to claim."""
        worker_id = worker_id or f"{self._id}-inline"
        jobs = self._store.claim_jobs(worker_id, self._batch, self._lease, max_bytes=self._batch_bytes,
                                      max_size=max_size)
        if not jobs:
            return False
        with renewing(self._store, worker_id, [j.id for j in jobs], self._lease):
            try:
                statuses = self._ingest.process_batch([j.document_id for j in jobs])
                done = list(jobs)
            except Exception as exc:
                if len(jobs) == 1:
                    self._retry_or_fail(worker_id, jobs[0], exc)
                    return True
                log.warning("a batch of %d jobs failed (%r): running them one by one", len(jobs), exc)
                statuses, done = self._one_by_one(worker_id, jobs)
        self._store.finish_jobs([j.id for j in done], worker_id=worker_id)
        if on_done:
            for job in done:
                on_done(job.document_id, statuses.get(job.document_id, DocStatus.FAILED).value)
        return True

    def _one_by_one(self, worker_id: str, jobs: Sequence[Job]) -> tuple[dict[str, DocStatus], list[Job]]:
        """Each job of a failed batch alone; those that fail again are retried later or failed. Returns the
        statuses and the jobs that ran to their end."""
        statuses: dict[str, DocStatus] = {}
        done: list[Job] = []
        for job in jobs:
            try:
                statuses.update(self._ingest.process_batch([job.document_id]))
            except Exception as exc:
                self._retry_or_fail(worker_id, job, exc)
                continue
            done.append(job)
        return statuses, done

    def _retry_or_fail(self, worker_id: str, job: Job, exc: Exception) -> None:
        log.error("job %s (document %s) failed: %r", job.id, job.document_id, exc, exc_info=exc)
        if job.attempts >= self._max_attempts:
            try:
                self._ingest.fail(job.document_id, f"internal error after {job.attempts} attempts: {exc}")
            except Exception:  # deleted meanwhile
                log.warning("could not mark document %s failed", job.document_id)
            self._store.finish_job(job.id, ok=False, error=str(exc), worker_id=worker_id)
        else:
            with self._retries_lock:
                delay = backoff_delay(job.attempts, self._retry_base, self._retry_max, self._rng)
            self._store.release_job(job.id, worker_id=worker_id, delay_s=delay, error=str(exc))
            log.info("job %s will be retried in %.1f s (attempt %d of %d)", job.id, delay, job.attempts + 1,
                     self._max_attempts)
            now = time.time()  # read after the store's clock: ``due`` is never before the job's not_before
            with self._retries_lock:
                self._retries = {j: t for j, t in self._retries.items() if t > now}
                self._retries[job.id] = now + delay

    def wait_for_retry(self) -> bool:
        """Wait until the next retry this pool put off is due; False at once when none is pending (or the pool
        is stopping). A retry whose time has passed is forgotten: by then it was claimable."""
        with self._retries_lock:
            now = time.time()
            self._retries = {j: t for j, t in self._retries.items() if t > now}
            due = min(self._retries.values(), default=None)
        if due is None or self._stop.is_set():
            return False
        self._stop.wait(max(0.0, due - time.time()))
        return not self._stop.is_set()

    def drain(self, on_done: Callable[[str, str], None] | None = None) -> int:
        """Process jobs in the calling thread until the queue is empty (the CLI's way), waiting for the retries it
        puts off. Returns the batches run."""
        n = 0
        while True:
            if self.run_one(f"{self._id}-inline", on_done):
                n += 1
            elif not self.wait_for_retry():
                return n
