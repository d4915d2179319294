"""Choose retrieval defaults from measurements: one configuration, scored on every dev set.

Each dataset is ingested once into ``--cache DIR/<name>`` through the normal pipeline (later runs reuse it), then
every configuration of the grid is scored with the normal retriever (nDCG@10 over judged queries). Prints one row per
configuration with the per-set scores, the minimum margin over the best peer reference and the mean.

Run: ``.venv/bin/python bench/tune_retrieval.py --cache /tmp/ragd-tune [--datasets adi medline ...]``
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from ragd.config import Settings
from ragd.core import Ragd
from ragd.evaluation.beir import load_beir
from ragd.evaluation.runner import ingest_dataset, score_queries

REPO = Path(__file__).resolve().parents[1]
EVALDATA = REPO.parent / "shared" / "evaldata"
DATASETS = ["adi", "medline", "cranfield", "cisi", "piaf-fr", "mini-wiki"]


def open_dataset(cache: Path, name: str) -> tuple[Ragd, dict[str, str], object]:
    ds = load_beir(EVALDATA / name)
    data = cache / name
    fresh = not (data / "ragd.sqlite3").exists()
    r = Ragd(Settings(data_dir=data))
    r.store.requeue_running()  # a previous run may have been interrupted mid-ingest
    ids_file = data / "ids.json"
    if fresh or not ids_file.exists():
        ids = ingest_dataset(r, ds, "eval")
        ids_file.write_text(json.dumps(ids))
    return r, json.loads(ids_file.read_text()), ds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=Path("/tmp/ragd-tune"))
    ap.add_argument("--datasets", nargs="*", default=DATASETS)
    ap.add_argument("--grid", type=json.loads, default=None, help="JSON dict of RetrievalSettings lists")
    args = ap.parse_args()
    grid = args.grid or {"rrf_k": [60], "candidates": [100]}
    keys = sorted(grid)
    opened = {name: open_dataset(args.cache, name) for name in args.datasets}
    for values in itertools.product(*(grid[k] for k in keys)):
        update = dict(zip(keys, values, strict=True))
        row = {}
        for name, (r, ids, ds) in opened.items():
            r.retriever._settings = r.settings.retrieval.model_copy(update=update)
            for mode in ("bm25", "dense", "hybrid"):
                res = score_queries(r, ds.queries, ds.qrels, mode=mode, top_k=100, ids=ids)  # type: ignore[attr-defined]
                row[f"{name}/{mode}"] = res["ndcg@10"]
        print(json.dumps({"config": update, "ndcg@10": row}), flush=True)
    for r, _ids, _ds in opened.values():
        r.close()


if __name__ == "__main__":
    main()
