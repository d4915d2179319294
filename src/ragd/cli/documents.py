"""``ragd documents list|show|delete``."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ragd.api.schemas import DocumentOut
from ragd.cli.common import DataDirOpt, open_ragd, run_guarded

app = typer.Typer(help="List, show and delete documents.", no_args_is_help=True)


@app.command("list")
def list_(
    collection: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """List documents, newest first."""

    def _run() -> None:
        with open_ragd(data_dir) as r:
            docs, total = r.store.list_documents(collection=collection, limit=limit)
            if as_json:
                body = {"documents": [DocumentOut.of(d).model_dump() for d in docs], "total": total}
                sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
                return
            t = Table("id", "collection", "filename", "status", "chunks", "pages", "error")
            for d in docs:
                t.add_row(
                    d.id,
                    d.collection,
                    d.filename,
                    str(d.status),
                    str(d.num_chunks),
                    str(d.pages or ""),
                    (d.error or "")[:60],
                )
            Console().print(t)
            Console().print(f"{len(docs)} of {total} documents")

    run_guarded(_run)


@app.command()
def show(doc_id: str, data_dir: DataDirOpt = None) -> None:
    """Show one document as JSON."""

    def _run() -> None:
        with open_ragd(data_dir) as r:
            sys.stdout.write(json.dumps(DocumentOut.of(r.get_document(doc_id)).model_dump(), indent=2) + "\n")

    run_guarded(_run)


@app.command()
def delete(doc_id: str, data_dir: DataDirOpt = None) -> None:
    """Delete a document, its chunks (from every index) and its stored original."""

    def _run() -> None:
        with open_ragd(data_dir) as r:
            r.ingest.delete(doc_id)
            Console(stderr=True).print(f"deleted {doc_id}")

    run_guarded(_run)
