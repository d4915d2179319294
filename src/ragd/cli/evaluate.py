"""``ragd eval DATASET_DIR``: score retrieval (and answers) on a BEIR-layout folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ragd.cli.common import console_err, run_guarded
from ragd.config import Settings
from ragd.evaluation.runner import MODES, evaluate_dataset

COLUMNS = ["ndcg@10", "recall@10", "recall@100", "mrr@10", "map", "latency_p50_ms", "latency_p95_ms"]


def evaluate(
    dataset_dir: Annotated[
        Path, typer.Argument(help="Folder with corpus.jsonl, queries.jsonl, qrels/test.tsv.")
    ],
    mode: Annotated[str, typer.Option(help="bm25, dense, hybrid or all.")] = "all",
    top_k: Annotated[
        int, typer.Option("--top-k", min=10, max=1000, help="Passages retrieved per query.")
    ] = 100,
    qa_limit: Annotated[int | None, typer.Option(help="Score only the first N qa.jsonl questions.")] = None,
    no_answers: Annotated[
        bool, typer.Option("--no-answers", help="Skip composing answers for qa.jsonl.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per mode on stdout.")] = False,
) -> None:
    """Ingest the corpus into a throw-away data directory and report nDCG@10, Recall@10/100, MRR@10, MAP,
    ingest time and query latency (plus answer metrics when qa.jsonl is present)."""
    if mode not in (*MODES, "all"):
        console_err.print(
            f"error [validation_error]: --mode must be bm25, dense, hybrid or all, not {mode!r}"
        )
        raise typer.Exit(2)
    modes = list(MODES) if mode == "all" else [mode]

    def progress(stage: str, n: int, total: int) -> None:
        console_err.print(f"  {stage} {n}/{total}", highlight=False)

    def _run() -> None:
        rows = evaluate_dataset(
            dataset_dir,
            modes=modes,
            top_k=top_k,
            settings=Settings(),
            qa_limit=qa_limit,  # type: ignore[arg-type]
            answers=not no_answers,
            progress=progress,
        )
        if as_json:
            for row in rows:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        t = Table(
            "mode",
            *COLUMNS,
            title=f"{rows[0]['dataset']}: {rows[0]['queries']} judged queries, "
            f"{rows[0]['documents']} documents, {rows[0]['chunks']} chunks, ingest {rows[0]['ingest_s']} s",
        )
        for row in rows:
            t.add_row(row["mode"], *(str(row[c]) for c in COLUMNS))
        Console().print(t)
        for row in rows:
            for language, metrics in row.get("by_language", {}).items():
                Console().print(f"{row['mode']} [{language}]: {metrics}", highlight=False)
            extra = {k: v for k, v in row.items() if k.startswith(("answer", "qa_"))}
            if extra:
                Console().print(f"{row['mode']}: {extra}")

    run_guarded(_run)
