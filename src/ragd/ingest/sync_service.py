"""Folders ``ragd serve`` syncs itself (``sync.folders``): one background thread per folder.

Each thread syncs its folder (:class:`ragd.ingest.sync.FolderSync`, as the local operator), then waits
``interval_s`` and syncs again; with ``watch``, one watcher (watchfiles) runs for the thread's life and a round
runs when it starts, on each batch of changes (those made during a round are kept for the next), and every
``interval_s`` anyway. The
documents it queues are indexed by the server's own workers (or ``ragd worker`` processes in broker mode), as
uploads are.

Only one process runs a given folder at a time: before each run the thread takes (or renews) a lease in the
store (:meth:`ragd.store.sync_state.SyncStateStore.sync_lease`, one atomic upsert on both engines), valid for
``sync.lease_s``. Replicas sharing a PostgreSQL database all try; the one holding the lease runs, the others
skip the round and try again at their next interval, so a replica that died is replaced once its lease expires.
The lease is given up when the server stops.

Each folder's state (last run, its counts, the last error, whether this process holds the lease) is shown to
admins by ``GET /api/v1/admin/syncs``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import watchfiles

from ragd.config.sync import SyncFolder
from ragd.ingest.sync import FolderSync
from ragd.ingest.sync_watch import visible_under

if TYPE_CHECKING:
    from ragd.core import Ragd

log = logging.getLogger(__name__)


@dataclass
class FolderStatus:
    path: str
    collection: str
    folder_id: str = ""
    runs: int = 0
    last_run_at: float | None = None
    last_duration_ms: float | None = None
    last_counts: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    holder: bool = False
    """Whether this process held the lease at its last attempt."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class FolderSyncs:
    """The background syncs of one server process."""

    def __init__(self, r: Ragd) -> None:
        self._r = r
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.status: list[FolderStatus] = [
            FolderStatus(str(f.path), f.collection or r.settings.default_collection) for f in r.settings.sync.folders]

    def start(self) -> None:
        for folder, status in zip(self._r.settings.sync.folders, self.status, strict=True):
            t = threading.Thread(target=self._loop, args=(folder, status), name=f"ragd-sync-{len(self._threads)}",
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)
        self._threads.clear()

    def run_once(self, folder: SyncFolder, status: FolderStatus) -> bool:
        """One round for ``folder``: take the lease and sync; False when another process holds the lease."""
        r = self._r
        job = FolderSync(r, folder.path, folder.collection)
        status.folder_id = job.folder_id
        status.holder = job.state.sync_lease(job.folder_id, self.holder, r.settings.sync.lease_s)
        if not status.holder:
            return False
        t0 = time.perf_counter()
        try:
            report = job.run()
            status.last_counts = report.counts()
            status.last_error = None
        except Exception as exc:  # the next round tries again; the admins see why this one failed
            log.exception("sync of %s failed", folder.path)
            status.last_error = f"{type(exc).__name__}: {exc}"
        status.runs += 1
        status.last_run_at = time.time()
        status.last_duration_ms = round((time.perf_counter() - t0) * 1000, 1)
        return True

    def _loop(self, folder: SyncFolder, status: FolderStatus) -> None:
        if folder.watch:
            self._watch_loop(folder, status)
        else:
            while not self._stop.is_set():
                self._round(folder, status)
                self._stop.wait(folder.interval_s)
        if status.folder_id and status.holder:
            try:
                self._r.store.sync_release(status.folder_id, self.holder)  # type: ignore[attr-defined]
            except Exception:  # the lease expires by itself
                log.debug("could not release the sync lease of %s", folder.path, exc_info=True)

    def _round(self, folder: SyncFolder, status: FolderStatus) -> None:
        try:
            self.run_once(folder, status)
        except Exception as exc:  # the folder is missing, the store is down: try again next round
            log.warning("sync of %s: %s", folder.path, exc)
            status.last_error = f"{type(exc).__name__}: {exc}"

    def _watch_loop(self, folder: SyncFolder, status: FolderStatus) -> None:
        """One watcher for the thread's life (changes made during a round are kept for the next): a round when it
        starts, on each batch of changes, and every ``interval_s`` anyway."""
        while not self._stop.is_set():
            if not folder.path.is_dir():  # nothing to watch (yet, or any more): report it, wait, try again
                self._round(folder, status)
                self._stop.wait(folder.interval_s)
                continue
            root = folder.path.resolve()
            due = 0.0
            try:
                for changes in watchfiles.watch(root, watch_filter=visible_under(root), stop_event=self._stop,
                                                debounce=500, rust_timeout=1000, yield_on_timeout=True,
                                                raise_interrupt=False):
                    if changes or time.monotonic() >= due:
                        self._round(folder, status)
                        due = time.monotonic() + folder.interval_s
            except Exception as exc:  # the folder went away under the watcher: back to the top
                log.warning("watching %s: %s", folder.path, exc)
                status.last_error = f"{type(exc).__name__}: {exc}"
                self._stop.wait(min(folder.interval_s, 10.0))
