"""``ragd ingest PATH…``: files and folders (recursive), with progress bars."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ragd.cli.common import DataDirOpt, console_err, open_ragd, run_guarded
from ragd.core import Ragd
from ragd.ingest.bulk import ingest_files


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


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (folders are walked recursively).")],
    collection: Annotated[str | None, typer.Option(help="Collection to put the documents in.")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Load documents: each ends indexed, or failed with a reason. Exit code 1 if any was rejected or failed."""
    files = collect(paths)
    if not files:
        console_err.print("error [bad_request]: no files found")
        raise typer.Exit(1)
    problems: list[str] = []

    def _run() -> None:
        with open_ragd(data_dir) as r:
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
            ids = res.ids
            counts: dict[str, int] = {}
            for doc_id in ids:
                d = r.store.get_document(doc_id)
                if d is None:
                    continue
                counts[str(d.status)] = counts.get(str(d.status), 0) + 1
                if d.error:
                    problems.append(f"{d.filename}: failed at {d.failed_step} [{d.error_code}]: {d.error}")
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            console_err.print(f"{len(files)} files: {summary or 'nothing stored'}")

    run_guarded(_run)
    for p in problems:
        console_err.print(f"  [yellow]{p}[/yellow]", highlight=False)
    if problems:
        raise typer.Exit(1)
