"""``ragd sync DIR --collection C``: the collection mirrors the folder (:mod:`ragd.ingest.sync`)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.markup import escape

from ragd.cli.common import DataDirOpt, console_err, open_ragd, run_guarded
from ragd.cli.ingest import drain_with_progress, wait_indexed
from ragd.core import Ragd
from ragd.ingest.sync import FolderSync, SyncReport
from ragd.ingest.sync_watch import watch


def apply(r: Ragd, sync: FolderSync, *, progress: bool = True) -> SyncReport:
    """One sync, then the processing of what it queued (here, or by ``ragd worker`` in broker mode)."""
    report = sync.run()
    ids = list(report.submitted.values())
    if ids:
        if r.mode == "celery":
            wait_indexed(r, ids, lambda _n: None)
        elif progress:
            drain_with_progress(r, r.store.queue_depth())
        else:
            r.workers.drain()
    sync.outcome(report)
    return report


@contextlib.contextmanager
def _ctrl_c_sets(stop: threading.Event) -> Iterator[None]:
    """While watching, a first Ctrl-C (SIGINT) only sets ``stop``: the sync under way finishes (what it recorded
    stands), the watcher returns at its next check, and the store is closed cleanly. A KeyboardInterrupt raised
    in the middle of a sync could leave a worker holding what closing waits for. A second Ctrl-C stops at once."""

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        console_err.print("stopping after the current sync (Ctrl-C again to stop now)", highlight=False)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _print(report: SyncReport, *, verbose: bool) -> None:
    """One line per change (``verbose``), skipped and failed file; file names and reasons are printed as they are
    (escaped: a ``[code]`` or a bracket in a file name is not Rich markup)."""
    if verbose:
        for rel in report.added:
            console_err.print(f"  added {escape(rel)}", highlight=False)
        for rel in report.updated:
            console_err.print(f"  updated {escape(rel)}", highlight=False)
        for old, new in report.moved:
            console_err.print(f"  moved {escape(old)} -> {escape(new)}", highlight=False)
        for rel in report.deleted:
            console_err.print(f"  deleted {escape(rel)}", highlight=False)
    for rel, why in report.skipped:
        console_err.print(f"  [yellow]skipped {escape(rel)}: {escape(why)}[/yellow]", highlight=False)
    for rel, why in report.failed:
        console_err.print(f"  [red]failed {escape(rel)}: {escape(why)}[/red]", highlight=False)
    console_err.print(report.summary(), highlight=False)


def sync(
    folder: Annotated[Path, typer.Argument(help="The folder the collection mirrors (walked recursively).")],
    collection: Annotated[str | None, typer.Option(help="Collection that mirrors the folder.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what would change.")] = False,
    watch_: Annotated[bool, typer.Option("--watch", help="After the first sync, keep the collection in step as "
                                         "files change (until Ctrl-C).")] = False,
    debounce_ms: Annotated[int, typer.Option(min=50, help="--watch: changes grouped over this many ms.")] = 500,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every file changed.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Make a collection mirror a folder: new files are added, changed ones re-indexed, moved ones renamed (not
    re-indexed), deleted ones deleted; unsupported types are skipped. Idempotent and resumable. Prints a summary;
    exit code 1 if a file failed."""
    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder")
    failed = False

    def _run() -> None:
        nonlocal failed
        with open_ragd(data_dir) as r:
            if r.mode != "celery":  # as `ragd ingest`: jobs a killed run left running are this command's to finish
                r.store.requeue_running()
            job = FolderSync(r, folder, collection)
            if dry_run:
                report = job.run(dry_run=True)
                _print(report, verbose=True)
                return
            report = apply(r, job)
            _print(report, verbose=verbose)
            failed = bool(report.failed)
            if watch_:
                stop = threading.Event()
                with _ctrl_c_sets(stop), contextlib.suppress(KeyboardInterrupt):
                    watch(job, apply=lambda s: apply(r, s, progress=False), stop=stop,
                          debounce_ms=debounce_ms, on_report=lambda rep: _print(rep, verbose=verbose),
                          on_ready=lambda: console_err.print(f"watching {job.root} (Ctrl-C to stop)",
                                                             highlight=False))
                console_err.print("stopped", highlight=False)

    run_guarded(_run)
    if failed and not watch_:
        raise typer.Exit(1)
