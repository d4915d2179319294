"""``ragd ingest https://…``: web pages (or the pages of sitemaps) fetched into a collection
(:mod:`ragd.ingest.fetch`)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ragd.cli.common import console_err, open_ragd, run_guarded
from ragd.cli.ingest import drain_with_progress, wait_indexed
from ragd.models import DocStatus


def ingest_urls(urls: list[str], *, collection: str | None, sitemap: bool, data_dir: Path | None) -> None:
    """Fetch and index ``urls``; a summary on stderr; exit code 1 if a page could not be fetched or indexed."""
    problems: list[str] = []

    def _run() -> None:
        from ragd.ingest.fetch import fetch_into

        with open_ragd(data_dir) as r:
            ids: list[str] = []
            for url in urls:
                result = fetch_into(r, url, sitemap=sitemap, collection=collection, queue="bulk")
                ids.extend(s.document.id for _, s in result.submissions)
                problems.extend(f"{u}: [{e.code}] {e.detail}" for u, e in result.failed)
            if r.mode == "celery":
                wait_indexed(r, ids, lambda _n: None)
            else:
                drain_with_progress(r, r.store.queue_depth())
            counts: dict[str, int] = {}
            for doc_id in dict.fromkeys(ids):
                d = r.store.get_document(doc_id)
                if d is None:
                    continue
                counts[d.status.value] = counts.get(d.status.value, 0) + 1
                if d.status is DocStatus.FAILED:
                    problems.append(f"{d.metadata.get('source_url', d.filename)}: failed at {d.failed_step} "
                                    f"[{d.error_code}]: {d.error}")
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            console_err.print(f"{len(urls)} URLs: {summary or 'nothing stored'}", highlight=False)

    run_guarded(_run)
    for p in problems:
        console_err.print(f"  [yellow]{escape(p)}[/yellow]", highlight=False)
    if problems:
        raise typer.Exit(1)
