"""After jobs are committed: who is told. The composition root (:class:`ragd.core.Ragd`) holds one
:class:`Dispatcher`, chosen once from the settings by :func:`open_dispatcher`:

* **embedded** (no ``jobs.broker_url``, the default): the in-process :class:`~ragd.jobs.worker.WorkerPool` is
  woken up (:meth:`WorkerPool.notify`), as before; Celery is never imported;
* **celery** (broker mode): the jobs' messages are published after the commit (``unpublished_jobs`` →
  ``mark_published`` → publish, through :meth:`Sweeper.publish_new <ragd.jobs.sweeper.Sweeper.publish_new>`). A
  publish that fails (the broker is down) is logged and owed to the :class:`~ragd.jobs.sweeper.Sweeper` — the
  upload is acknowledged all the same, and nothing is lost since the jobs are in the store.
  After a failure, publishing pauses for one sweep interval (uploads do not wait on a dead broker one by one).

The queue of new jobs: :func:`queue_for` (``interactive`` for single uploads and small batches, ``bulk`` for
:data:`BULK_UPLOAD_FILES` files or more, the CLI and re-indexing everything).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ragd.store.base import JobQueue

if TYPE_CHECKING:
    from ragd.config import Settings
    from ragd.jobs.celery_app import Publisher
    from ragd.jobs.sweeper import Sweeper
    from ragd.jobs.worker import WorkerPool

log = logging.getLogger(__name__)

BULK_UPLOAD_FILES = 20
"""Files in one upload from which its jobs go to the ``bulk`` queue."""


def queue_for(files: int) -> str:
    """The queue of the jobs of an upload of ``files`` files."""
    return "bulk" if files >= BULK_UPLOAD_FILES else "interactive"


class Dispatcher(Protocol):
    mode: Literal["embedded", "celery"]

    def jobs_added(self, doc_ids: Sequence[str], queue: str) -> None:
        """Jobs of ``doc_ids`` were committed in ``queue``: have them run."""

    def start(self) -> None:
        """Background work of this process (broker mode: the sweeper)."""

    def close(self) -> None: ...

    def broker_status(self) -> dict[str, Any] | None:
        """Broker mode: ``{"reachable": bool, "messages": {queue: ready messages}}``; embedded: ``None``."""


class EmbeddedDispatcher:
    """Wake the in-process workers (today's behaviour)."""

    mode: Literal["embedded", "celery"] = "embedded"

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool

    def jobs_added(self, doc_ids: Sequence[str], queue: str) -> None:
        if doc_ids:
            self._pool.notify()

    def start(self) -> None:
        return None

    def close(self) -> None:
        return None

    def broker_status(self) -> dict[str, Any] | None:
        return None


class BrokerDispatcher:
    """Publish the jobs' messages after the commit; a sweeper thread (:meth:`start`) catches up on the rest."""

    mode: Literal["embedded", "celery"] = "celery"

    def __init__(self, store: JobQueue, publisher: Publisher, sweeper: Sweeper, pause_s: float) -> None:
        self.store = store
        self.publisher = publisher
        self.sweeper = sweeper
        self._pause_s = pause_s

    def jobs_added(self, doc_ids: Sequence[str], queue: str) -> None:
        if not doc_ids or self.publisher.recently_failed(self._pause_s):
            return  # the broker was down a moment ago: the sweeper publishes once it is back
        try:
            self.sweeper.publish_new(self.store.unpublished_jobs(list(doc_ids)))
        except Exception:  # the jobs are committed: whatever failed here, the sweeper publishes them
            log.warning("publishing the jobs of %d documents failed; the sweeper will", len(doc_ids),
                        exc_info=True)

    def start(self) -> None:
        self.sweeper.start()

    def close(self) -> None:
        self.sweeper.stop()
        self.publisher.close()

    def broker_status(self) -> dict[str, Any] | None:
        sizes = self.publisher.queue_sizes()
        return {"reachable": sizes is not None, "messages": sizes or {}}


def open_dispatcher(settings: Settings, store: JobQueue, pool: WorkerPool) -> Dispatcher:
    """The dispatcher of ``settings``: embedded without ``jobs.broker_url``, else Celery (imported only then)."""
    if settings.jobs.broker_url is None:
        return EmbeddedDispatcher(pool)
    from ragd.jobs.celery_app import Publisher, make_app
    from ragd.jobs.sweeper import Sweeper

    publisher = Publisher(make_app(settings), settings.jobs.queue_prefix)
    return BrokerDispatcher(store, publisher, Sweeper(store, publisher, settings.jobs),
                            pause_s=settings.jobs.sweep_interval_s)
