"""``ragd sync --watch``: after a first full sync, sync again whenever files of the folder change.

One watcher runs for the whole time (changes made while a sync runs are kept for the next); watchfiles (the Rust
``notify`` watcher) groups the file-system events of ``debounce_ms`` into one batch; each batch
runs one :meth:`ragd.ingest.sync.FolderSync.run` — cheap, since a file whose size and time are unchanged is not
read — so the folder's state is always the one compared, whatever events were lost or merged. Events on hidden
files are ignored, as the sync ignores them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

from ragd.ingest.sync import FolderSync, SyncReport

READY_MS = 200
"""How long the watcher waits for a first change before answering that it is watching."""


def visible_under(root: Path) -> Callable[[watchfiles.Change, str], bool]:
    """A watchfiles filter: changes to files the sync looks at (under ``root``, no hidden part)."""

    def visible(_change: watchfiles.Change, path: str) -> bool:
        try:
            rel = Path(path).relative_to(root)
        except ValueError:
            return False
        return not any(part.startswith(".") for part in rel.parts)

    return visible


def watch(sync: FolderSync, *, apply: Callable[[FolderSync], SyncReport], stop: threading.Event,
          debounce_ms: int = 500, on_report: Callable[[SyncReport], None] | None = None,
          on_ready: Callable[[], None] | None = None) -> None:
    """Run ``apply(sync)`` (a sync and the processing of what it queued) on every batch of changes under the
    folder until ``stop`` is set (or Ctrl-C). ``on_report`` after each run that changed something.

    Once the watcher runs (its first answer, at the latest after ``READY_S``), ``on_ready`` is called and one sync
    catches up with whatever changed before it was watching; from then on the watcher keeps every change, including
    those made while a sync runs (reported at its next answer)."""
    ready = False
    for changes in watchfiles.watch(sync.root, watch_filter=visible_under(sync.root), debounce=debounce_ms,
                                    stop_event=stop, raise_interrupt=False, rust_timeout=READY_MS,
                                    yield_on_timeout=True):
        if ready and not changes:
            continue
        if not ready:
            ready = True
            if on_ready:
                on_ready()
        report = apply(sync)
        if on_report and (report.changed or report.failed):
            on_report(report)
