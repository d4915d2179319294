"""The sweeper: what makes broker mode lose nothing. Every ``jobs.sweep_interval_s`` it publishes the jobs that
need a message (:meth:`JobQueue.jobs_to_publish`): queued jobs never published after ``jobs.publish_grace_s`` (the
broker was down at upload time, or the process died between the commit and the publish), backed-off retries now
due, and running jobs whose lease ran out (a killed worker). When a broker queue holds no ready message, the jobs
of that queue published more than ``jobs.republish_after_s`` ago and still queued are published again (a lost
message: a broker restarted without its queues, a purge).

Every ``ragd worker`` and every server process in broker mode runs one. Concurrent sweepers are safe: a sweeper
marks jobs published before it publishes them (:meth:`JobQueue.mark_published`, a conditional update), and
publishes only those its mark won. A job marked whose publish then failed (the broker went down in between) is
kept and published first at the next sweep; if the process dies first, the lost-message rule above publishes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ragd.errors import StoreUnavailable
from ragd.models import JOB_QUEUES, Job
from ragd.store.base import JobQueue

if TYPE_CHECKING:
    from ragd.config import JobsSettings
    from ragd.jobs.celery_app import Publisher

log = logging.getLogger(__name__)
SWEEP_LIMIT = 500
"""Jobs taken per query; a sweep goes on while full pages come back."""
MAX_PAGES = 20


class Sweeper:
    def __init__(self, store: JobQueue, publisher: Publisher, settings: JobsSettings,
                 queues: Sequence[str] = JOB_QUEUES) -> None:
        self.store = store
        self.publisher = publisher
        self.settings = settings
        self.queues = tuple(queues)
        self._owed: list[Job] = []  # marked published by this sweeper, publish failed: sent first next time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="ragd-sweeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        failures = 0
        while not self._stop.wait(self.settings.sweep_interval_s):
            try:
                self.sweep()
                failures = 0
            except StoreUnavailable as exc:
                failures += 1
                if failures == 1 or failures % 20 == 0:
                    log.warning("sweeper: %s (trying again every %g s)", exc.detail, self.settings.sweep_interval_s)
            except Exception:
                log.exception("sweeper: unexpected error; trying again at the next interval")

    def sweep(self) -> int:
        """One pass; returns how many messages were published."""
        with self._lock:
            published = 0
            if self._owed:
                sent = self.publisher.publish(self._owed)
                published += len(sent)
                self._owed = self._owed[len(sent):]
                if self._owed:
                    return published  # the broker is still down: mark nothing more
            for _ in range(MAX_PAGES):
                jobs = self.store.jobs_to_publish(grace_s=self.settings.publish_grace_s, limit=SWEEP_LIMIT)
                n = self._publish(jobs)
                published += n
                if self._owed or len(jobs) < SWEEP_LIMIT:
                    break
            if self._owed:
                return published
            published += self._republish_lost()
            if published:
                log.info("sweeper published %d ingestion jobs", published)
            return published

    def _republish_lost(self) -> int:
        before = time.time() - self.settings.republish_after_s
        published = 0
        for queue in self.queues:
            stale = self.store.stale_published(queue, before, limit=SWEEP_LIMIT)
            if not stale or self.publisher.ready_messages(queue) != 0:
                continue
            log.warning("broker queue %s is empty but %d of its jobs wait since their publication more than %.0f s "
                        "ago: publishing them again", queue, len(stale), self.settings.republish_after_s)
            published += self._publish(stale)
            if self._owed:
                break
        return published

    def publish_new(self, jobs: Sequence[Job]) -> int:
        """Publish the jobs an upload just committed, as a sweep would: marked first, then sent (what could not be
        sent is owed to the next sweep). Marked after sending, a job a fast worker had already taken, failed and
        given back for a retry would be stamped published after its retry came due, and no sweeper would send it."""
        with self._lock:
            return self._publish(jobs)

    def _publish(self, jobs: Sequence[Job]) -> int:
        if not jobs:
            return 0
        won = set(self.store.mark_published([j.id for j in jobs]))
        mine = [j for j in jobs if j.id in won]
        try:
            sent = self.publisher.publish(mine)
        except Exception:
            self._owed.extend(mine)  # marked, not sent: first in line at the next sweep
            raise
        self._owed.extend(mine[len(sent):])
        return len(sent)
