"""A query analysed among the languages present in the store, against the unrestricted analysis, on one index.

    nice -n 19 .venv/bin/python bench/present_languages.py --sets /tmp/langsets/manpages-nl \\
        /tmp/langsets/manpages-pt ../shared/evaldata/piaf-fr ../shared/evaldata/adi ../shared/evaldata/cisi \\
        --cache /tmp/ragd-present --out bench/results/present_languages.json

Each set is ingested once into ``--cache`` through the normal pipeline (chunks, their languages); then, for every
judged question, the store's own BM25 (``search_lexical``, no embedding) ranks the documents with the question
analysed three ways, on that same index, so that only the analysis differs (two ingestions of one set break BM25
ties apart by a few thousandths):

* ``unrestricted``: :func:`ragd.retrieve.analysis.query_languages` over every language of the detector (before);
* ``equal`` (the first rule tried): among the languages of the store's live chunks, all equally likely, the
  detector's probabilities renormalised over them;
* ``present`` (ragd's rule): the same, each language's probability weighted by its share of the chunks (the
  collection as the prior) before renormalising.

Reported: nDCG@10 of each (mean over the judged questions) and how many questions changed languages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("RAGD_LOGGING__LEVEL", "warning")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_json

from ragd.config import Settings
from ragd.core import Ragd
from ragd.evaluation import load_beir
from ragd.evaluation.metrics import per_query_metrics
from ragd.evaluation.runner import ingest_dataset
from ragd.retrieve.analysis import analyze_query, query_languages


def ranked_documents(r: Ragd, terms: list[str], ids: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    hits = r.store.search_lexical(terms, None, 100)
    for chunk in r.store.get_chunks([seq for seq, _ in hits]):
        doc = ids.get(chunk.document_id, chunk.document_id)
        if doc not in out:
            out.append(doc)
    return out


def run_set(path: Path, cache: Path) -> dict[str, Any]:
    ds = load_beir(path)
    data = cache / ds.name
    r = Ragd(Settings(data_dir=data))
    try:
        ids_file = data / "ids.json"
        if not ids_file.exists():
            r.embedder.warm_up()
            ids_file.write_text(json.dumps(ingest_dataset(r, ds, "eval")), encoding="utf-8")
        ids = json.loads(ids_file.read_text(encoding="utf-8"))
        counts = r.store.chunk_languages()
        present = r.retriever._present_languages(None, r.store.last_change_id())
        ndcg = {"unrestricted": 0.0, "equal": 0.0, "present": 0.0}
        changed = {"equal": 0, "present": 0}
        for qid, text in ds.judged_queries.items():
            before = query_languages(text)
            variants = {
                "unrestricted": before,
                "equal": query_languages(text, present=set(present or ())),
                "present": query_languages(text, present=present),
            }
            for name, langs in variants.items():
                if name in changed and langs != before:
                    changed[name] += 1
                ranked = ranked_documents(r, analyze_query(text, langs), ids)
                ndcg[name] += per_query_metrics(ranked, ds.qrels[qid])["ndcg@10"]
        n = max(len(ds.judged_queries), 1)
        out = {"questions": len(ds.judged_queries), "chunks_per_language": counts, "changed": changed,
               "ndcg@10": {name: round(total / n, 4) for name, total in ndcg.items()}}
    finally:
        r.close()
    print(ds.name, json.dumps(out), file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ragd-present"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = {path.name: run_set(path, args.cache) for path in args.sets}
    print(json.dumps(results, indent=2))
    if args.out is not None:
        write_json(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
