"""A claimed job's lease, renewed while it is worked on (the in-process workers and the Celery tasks alike)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ragd.store.base import JobQueue

log = logging.getLogger(__name__)


@contextmanager
def renewing(store: JobQueue, worker_id: str, job_ids: Sequence[int], lease_seconds: float) -> Iterator[None]:
    """Renew the leases of ``job_ids`` held by ``worker_id`` every third of a lease while the block runs (and
    touch the jobs, so ``ragd doctor`` does not call them stuck). A renewal that fails (a busy or unreachable
    store) is tried again at the next beat: the lease still runs; a job missing from a renewal's answer was lost
    (finished, deleted, taken over) and is not renewed again."""
    done = threading.Event()

    def beat() -> None:
        held = list(job_ids)
        while held and not done.wait(lease_seconds / 3):
            try:
                renewed = store.renew_jobs(worker_id, held, lease_seconds)
            except Exception:
                log.warning("worker %s: renewing %d leases failed", worker_id, len(held), exc_info=True)
                continue
            if len(renewed) < len(held):
                log.warning("worker %s lost %d jobs (finished, deleted or taken over)", worker_id,
                            len(held) - len(renewed))
            held = renewed

    thread = threading.Thread(target=beat, name=f"ragd-lease-{worker_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
