"""In-process ingestion workers: threads that claim jobs from the store's job table.

Jobs live in the store, so they survive a restart: at start-up the embedded server puts back every job that was
running when the previous process died (:meth:`Store.requeue_running`), and a job whose worker vanished is also
reclaimed when its lease expires (for several processes sharing one store).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable

from ragd.ingest.pipeline import IngestService
from ragd.models import DocStatus
from ragd.store.base import Store

log = logging.getLogger(__name__)


class WorkerPool:
    def __init__(
        self,
        store: Store,
        ingest: IngestService,
        *,
        workers: int = 1,
        poll_interval: float = 0.2,
        max_attempts: int = 3,
        lease_seconds: float = 600.0,
        batch: int = 8,
    ) -> None:
        self._store = store
        self._ingest = ingest
        self._n = workers
        self._poll = poll_interval
        self._max_attempts = max_attempts
        self._lease = lease_seconds
        self._batch = batch
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._id = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def start(self) -> None:
        for i in range(self._n):
            t = threading.Thread(
                target=self._loop, name=f"ragd-worker-{i}", args=(f"{self._id}-{i}",), daemon=True
            )
            t.start()
            self._threads.append(t)

    def notify(self) -> None:
        """Wake idle workers (a job was just queued)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def _loop(self, worker_id: str) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_one(worker_id)
            except Exception:  # the store itself failed: back off and try again
                log.exception("worker %s: unexpected error", worker_id)
                worked = False
            if not worked:
                self._wake.wait(self._poll)
                self._wake.clear()

    def run_one(self, worker_id: str = "inline", on_done: Callable[[str, str], None] | None = None) -> bool:
        """Claim up to ``batch`` jobs and process them together. False when the queue is empty."""
        jobs = self._store.claim_jobs(worker_id, self._batch, self._lease)
        if not jobs:
            return False
        try:
            statuses = self._ingest.process_batch([j.document_id for j in jobs])
        except Exception as exc:
            log.exception("jobs %s failed", [j.id for j in jobs])
            for job in jobs:
                if job.attempts >= self._max_attempts:
                    self._ingest.fail(job.document_id, f"internal error after {job.attempts} attempts: {exc}")
                    self._store.finish_job(job.id, ok=False, error=str(exc))
                else:
                    self._store.release_job(job.id)
            return True
        self._store.finish_jobs([job.id for job in jobs])
        if on_done:
            for job in jobs:
                on_done(job.document_id, statuses.get(job.document_id, DocStatus.FAILED).value)
        return True

    def drain(self, on_done: Callable[[str, str], None] | None = None) -> int:
        """Process jobs in the calling thread until the queue is empty (the CLI's way). Returns jobs run."""
        n = 0
        while self.run_one(f"{self._id}-inline", on_done):
            n += 1
        return n
