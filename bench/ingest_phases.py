"""Where ingestion's time goes besides the model: phase timers around `ragd ingest`'s code path.

    .venv/bin/python bench/ingest_phases.py [--passages 1000] [--rounds 3]

Each round: the model alone on the passages (warm), then a fresh data directory ingesting the same passages, one
file each, through ``ragd.ingest.bulk.ingest_files``, with timers on the storing (``submit_many``), the per-document
preparation (parse, chunk, analyse), the model call inside the pipeline (``embed``) and the store writes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest_and_latency import passages

from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest import pipeline
from ragd.ingest.bulk import ingest_files
from ragd.store.sqlite.store import SqliteStore

TIMES: dict[str, float] = defaultdict(float)


def timed(owner: Any, name: str, label: str) -> None:
    fn: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[label] += time.perf_counter() - t

    setattr(owner, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    texts = passages(args.passages)
    tmp = Path(tempfile.mkdtemp(prefix="ragd-phases-"))
    folder = tmp / "passages"
    folder.mkdir()
    files = []
    for i, t in enumerate(texts):
        files.append(folder / f"p{i:05d}.txt")
        files[-1].write_text(t, encoding="utf-8")
    timed(pipeline.IngestService, "submit_many", "store originals + rows")
    timed(pipeline.IngestService, "_prepare", "parse + chunk + analyse")
    timed(pipeline, "chunk_pages", "  of which chunking")
    timed(pipeline.IngestService, "_embed_missing", "model call (+ embedding cache)")
    for name in ("record_parsed", "commit_chunks_many", "claim_jobs", "finish_jobs"):
        timed(SqliteStore, name, "store writes")
    probe = Ragd(Settings(data_dir=tmp / "probe"))
    probe.embedder.warm_up()
    for k in range(args.rounds):
        TIMES.clear()
        t = time.perf_counter()
        probe.embedder.embed(texts)
        model = time.perf_counter() - t
        r = Ragd(Settings(data_dir=tmp / f"round{k}"))
        r.embedder.warm_up()
        os.sync()  # start each round with no dirty data of the previous one
        t = time.perf_counter()
        ingest_files(r, files)
        total = time.perf_counter() - t
        r.close()
        phases = ", ".join(f"{label} {s:.2f}" for label, s in TIMES.items())
        print(f"round {k}: model alone {model:.2f} s; pipeline {total:.2f} s = {phases}", flush=True)


if __name__ == "__main__":
    main()
