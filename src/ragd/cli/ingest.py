"""``ragd ingest PATH…``: files and folders (recursive), with progress bars."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ragd.cli.common import DataDirOpt, console_err, open_ragd, run_guarded
from ragd.core import Ragd
from ragd.ingest.bulk import ingest_files
from ragd.models import DocStatus


def is_url(arg: str) -> bool:
    return arg.lower().startswith(("http://", "https://"))


def collect(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(
                sorted(
                    f
                    for f in p.rglob("*")
                    if f.is_file() and not any(part.startswith(".") for part in f.parts)
                )
            )
        elif p.is_file():
            files.append(p)
        else:
            raise typer.BadParameter(f"{p} does not exist")
    return files


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console_err,
        transient=False,
    )


def drain_with_progress(r: Ragd, total: int) -> None:
    with _progress() as bar:
        task = bar.add_task("indexing", total=total)
        r.workers.drain(on_done=lambda _doc, _status: bar.advance(task))


POLL_S = 0.5
"""Broker mode: how often the documents' states are read while workers index them."""
POLL_AHEAD = 200
"""Broker mode: documents looked at per poll, from the oldest not yet done (workers take jobs in order)."""


def wait_indexed(r: Ragd, ids: list[str], on_done: Callable[[int], None], stop: threading.Event | None = None) -> None:
    """Broker mode: poll the documents' states until each is indexed or failed (``ragd worker`` processes index
    them); ``on_done(n)`` as ``n`` more are done."""
    remaining = list(dict.fromkeys(ids))
    wake = stop or threading.Event()
    while remaining:
        finished: set[str] = set()
        for doc_id in remaining[:POLL_AHEAD]:
            d = r.store.get_document(doc_id)
            if d is None or d.status in (DocStatus.INDEXED, DocStatus.FAILED):
                finished.add(doc_id)
        if finished:
            remaining = [i for i in remaining if i not in finished]
            on_done(len(finished))
            continue
        if wake.wait(POLL_S):
            return


def wait_queue_with_progress(r: Ragd, queue: str, total: int) -> None:
    """Broker mode: show the progress of ``queue`` until it holds no queued or running job."""
    with _progress() as bar:
        task = bar.add_task(f"indexing (ragd worker, {queue} queue)", total=total)
        wake = threading.Event()
        while True:
            counts = r.store.job_counts().get(queue, {})
            left = counts.get("queued", 0) + counts.get("running", 0)
            bar.update(task, completed=max(0, total - left))
            if left == 0 or wake.wait(POLL_S):
                return


def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files and folders (folders are walked recursively), or "
                                               "http(s) URLs of web pages (or sitemaps, with --sitemap).")],
    collection: Annotated[str | None, typer.Option(help="Collection to put the documents in.")] = None,
    sitemap: Annotated[bool, typer.Option("--sitemap", help="The URLs are sitemaps: fetch every page they list "
                                          "(at most fetch.max_sitemap_pages each).")] = False,
    no_wait: Annotated[bool, typer.Option(
        "--no-wait", help="Only store and queue the files; `ragd worker` processes (broker mode) or a running "
        "`ragd serve` index them.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Load documents: each ends indexed, or failed with a reason. Exit code 1 if any was rejected or failed.
    In broker mode (RAGD_JOBS__BROKER_URL) the jobs go to the bulk queue and `ragd worker` processes index them
    while this command shows their progress."""
    urls = [p for p in paths if is_url(p)]
    if urls:
        from ragd.cli.fetch import ingest_urls

        ingest_urls(urls, collection=collection, sitemap=sitemap, data_dir=data_dir)
        paths = [p for p in paths if not is_url(p)]
        if not paths:
            return
    files = collect([Path(p) for p in paths])
    if not files:
        console_err.print("error [bad_request]: no files found")
        raise typer.Exit(1)
    problems: list[str] = []

    def _run() -> None:
        with open_ragd(data_dir) as r:
            if no_wait or r.mode == "celery":
                _queue_only(r, files, collection, no_wait, problems)
                return
            r.store.requeue_running()
            with _progress() as bar:
                queueing = bar.add_task("queueing", total=len(files))
                indexing = bar.add_task("indexing", total=r.store.queue_depth())
                done = 0

                def queued(n: int) -> None:
                    bar.advance(queueing, n)
                    bar.update(indexing, total=done + r.store.queue_depth())

                def processed(_doc: str, _status: str) -> None:
                    nonlocal done
                    done += 1
                    bar.advance(indexing)

                res = ingest_files(r, files, collection=collection, on_queued=queued, on_done=processed)
                bar.update(indexing, total=done)
            problems.extend(f"{f}: rejected: {why}" for f, why in res.rejected)
            _summary(r, len(files), res.ids, problems)

    run_guarded(_run)
    for p in problems:
        console_err.print(f"  [yellow]{p}[/yellow]", highlight=False)
    if problems:
        raise typer.Exit(1)


def _queue_only(r: Ragd, files: list[Path], collection: str | None, no_wait: bool, problems: list[str]) -> None:
    """Store and queue the files (bulk queue) without processing them here; unless ``no_wait``, show the progress
    of the processes that do (broker mode: ``ragd worker``) until every document is indexed or failed."""
    with _progress() as bar:
        queueing = bar.add_task("queueing", total=len(files))
        res = ingest_files(r, files, collection=collection, on_queued=lambda n: bar.advance(queueing, n),
                           process=False)
        if not no_wait:
            indexing = bar.add_task("indexing (ragd worker)", total=len(set(res.ids)))
            wait_indexed(r, res.ids, lambda n: bar.advance(indexing, n))
    problems.extend(f"{f}: rejected: {why}" for f, why in res.rejected)
    if no_wait:
        console_err.print(f"{len(files)} files: {len(set(res.ids))} documents stored and queued", highlight=False)
        return
    _summary(r, len(files), res.ids, problems)


def _summary(r: Ragd, n_files: int, ids: list[str], problems: list[str]) -> None:
    counts: dict[str, int] = {}
    for doc_id in ids:
        d = r.store.get_document(doc_id)
        if d is None:
            continue
        counts[str(d.status)] = counts.get(str(d.status), 0) + 1
        if d.error:
            problems.append(f"{d.filename}: failed at {d.failed_step} [{d.error_code}]: {d.error}")
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    console_err.print(f"{n_files} files: {summary or 'nothing stored'}")
