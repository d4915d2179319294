"""Choose retrieval defaults from measurements: one configuration, scored on every dev set.

Each dataset is ingested once into ``--cache DIR/<name>`` through the normal pipeline (later runs reuse it). Two
ways to score a grid of :class:`ragd.config.RetrievalSettings` values (hybrid nDCG@10 over judged queries):

- ``--engine real`` (default): the normal retriever with each configuration, exactly what ``ragd eval`` runs.
- ``--engine sim``: a fast replay for wide grids. Every query's complete BM25 list (every matching chunk, FTS5
  scores) and cosine to every chunk are captured once; each configuration then re-runs only the fusion, with the
  functions of ``ragd.retrieve.fusion``, and collapses chunks to documents in rank order. It skips the
  near-duplicate collapse of the real path, so finalists must be confirmed with ``--engine real``.
  Sim-only keys: ``dense_fill`` (score lexical candidates the dense top-N missed by their exact cosine),
  ``lex_fill`` (the same for BM25, not available in the real path) and ``doc_fusion`` (fuse document rankings,
  a document scored by its best chunk in each list, instead of chunk rankings).

Each row: the configuration, per-set scores, the margin over the best peer of ``--peers`` on each set, the minimum
margin (the selection criterion: one default must win everywhere) and the mean score.

Run: ``.venv/bin/python bench/tune_retrieval.py --cache /tmp/ragd-tune --engine sim --grid '{"rrf_k": [20, 60]}'``
(``--configs '[{...}, {...}]'`` for an explicit list instead of a product grid; ``--modes`` adds bm25/dense).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("RAGD_LOGGING__LEVEL", "warning")

from ragd.config import RetrievalSettings, Settings
from ragd.core import Ragd
from ragd.evaluation.beir import BeirDataset, load_beir
from ragd.evaluation.metrics import evaluate_run
from ragd.evaluation.runner import ingest_dataset, score_queries
from ragd.retrieve.analysis import analyze_query
from ragd.retrieve.fusion import rrf, score_fusion
from ragd.retrieve.language import Detection, detect
from ragd.retrieve.weighting import dense_weight

REPO = Path(__file__).resolve().parents[1]
EVALDATA = REPO.parent / "shared" / "evaldata"
DATASETS = ["adi", "medline", "cranfield", "cisi", "piaf-fr", "mini-wiki"]
SIM_KEYS = {"dense_fill", "lex_fill", "doc_fusion", "prf_k", "prf_beta"}


def open_dataset(cache: Path, name: str) -> tuple[Ragd, dict[str, str], BeirDataset]:
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


def best_peers(path: Path) -> dict[str, float]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: max(m["ndcg@10"] for m in systems.values()) for name, systems in data.items()}


# -- replay ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Captured:
    language: Detection  # of the query text alone (the retriever's fallback to the passages' language is not replayed)
    lexical: list[tuple[int, float]]  # every matching chunk, best first
    dense_seqs: np.ndarray  # every chunk, best first
    dense_scores: np.ndarray
    vector: np.ndarray  # the query's embedding


@dataclass(slots=True)
class Replay:
    doc_of: dict[int, str]  # chunk seq -> corpus id
    seqs: np.ndarray  # the rows of ``matrix``
    matrix: np.ndarray  # every chunk's embedding
    queries: dict[str, Captured]
    qrels: dict[str, dict[str, int]]


def capture(r: Ragd, ids: Mapping[str, str], ds: BeirDataset) -> Replay:
    retriever = r.retriever
    index = retriever._index
    index.sync(r.store)
    total = r.store.count_chunks()
    queries: dict[str, Captured] = {}
    qrels = {q: dict(j) for q, j in ds.qrels.items() if q in ds.queries}
    present = retriever._present_languages(None, r.store.last_change_id())  # analysed as the retriever does
    for qid in qrels:
        text = ds.queries[qid]
        terms = analyze_query(text, present=present)
        lexical = r.store.search_lexical(terms, None, total) if terms else []
        qv = retriever._embedder.embed_query(text)
        everything = index.search(qv, total)
        queries[qid] = Captured(
            detect(text, among=present),
            lexical,
            np.array([s for s, _ in everything], dtype=np.int64),
            np.array([v for _, v in everything], dtype=np.float64),
            np.asarray(qv, dtype=np.float32),
        )
    parts = list(r.store.iter_vectors(retriever._embedder.name))
    seqs = np.concatenate([p[0] for p in parts]).astype(np.int64)
    matrix = np.concatenate([p[1] for p in parts]).astype(np.float32)
    doc_of = {c.seq: ids.get(c.document_id, c.document_id) for c in r.store.get_chunks(seqs.tolist())}
    return Replay(doc_of, seqs, matrix, queries, qrels)


def cached_capture(data: Path, opened: tuple[Ragd, dict[str, str], BeirDataset], again: bool) -> Replay:
    """:func:`capture`, pickled next to the cached index (the capture only depends on the index and analysis)."""
    path = data / "replay.pickle"
    if path.is_file() and not again:
        with path.open("rb") as f:
            return pickle.load(f)  # our own cache file
    rp = capture(*opened)
    with path.open("wb") as f:
        pickle.dump(rp, f)
    return rp


def _by_doc(run: Sequence[tuple[int, float]], doc_of: Mapping[int, str]) -> list[tuple[str, float]]:
    out: dict[str, float] = {}
    for seq, score in run:
        out.setdefault(doc_of[seq], score)
    return list(out.items())


def replay_query(c: Captured, s: RetrievalSettings, extra: Mapping[str, Any], rp: Replay) -> list[str]:
    keys = _replay_fused(c, s, extra, rp.doc_of, c.dense_seqs, c.dense_scores)
    dense_w = _dense_weight(c, s, c.dense_seqs, c.dense_scores)
    if extra.get("prf_k") and dense_w and not extra.get("doc_fusion"):
        # Rocchio on the query vector: add the mean embedding of the first pass's best chunks, search again
        rows = np.searchsorted(rp.seqs, np.array(keys[: extra["prf_k"]], dtype=np.int64))
        q = c.vector + extra.get("prf_beta", 1.0) * rp.matrix[rows].mean(axis=0)
        scores = rp.matrix @ (q / np.linalg.norm(q))
        order = np.argsort(-scores, kind="stable")
        keys = _replay_fused(c, s, extra, rp.doc_of, rp.seqs[order], scores[order].astype(np.float64))
    if not extra.get("doc_fusion"):
        keys = [rp.doc_of[k] for k in keys]
    return list(dict.fromkeys(keys))


#: The shipped model's languages (ragd.embed.onnx); the replay scores the shipped model only.
MODEL_LANGUAGES = frozenset({"en"})


def _dense_weight(c: Captured, s: RetrievalSettings, dense_seqs: np.ndarray, dense_scores: np.ndarray) -> float:
    """The retriever's rule (ragd.retrieve.weighting) on the captured lists cut at the candidate depth."""
    depth = s.candidates
    dense = list(zip(dense_seqs[:depth].tolist(), dense_scores[:depth].tolist(), strict=True))
    return dense_weight(s.dense_weight, s.bm25_weight, MODEL_LANGUAGES, c.language, c.lexical[:depth], dense)


def _replay_fused(
    c: Captured,
    s: RetrievalSettings,
    extra: Mapping[str, Any],
    doc_of: Mapping[int, str],
    dense_seqs: np.ndarray,
    dense_scores: np.ndarray,
) -> list[Any]:
    depth = s.candidates
    lexical = c.lexical[:depth]
    dense = list(zip(dense_seqs[:depth].tolist(), dense_scores[:depth].tolist(), strict=True))
    dense_w = _dense_weight(c, s, dense_seqs, dense_scores)
    if extra.get("dense_fill") and dense_w:
        have = {k for k, _ in dense}
        cos = dict(zip(dense_seqs.tolist(), dense_scores.tolist(), strict=True))
        dense += [(k, cos[k]) for k, _ in lexical if k not in have]
    if extra.get("lex_fill") and lexical:
        have = {k for k, _ in lexical}
        bm = dict(c.lexical)
        lexical = lexical + [(k, bm[k]) for k, _ in dense if k not in have and k in bm]
    runs: list[list[tuple[Any, float]]] = [lexical, dense]
    if extra.get("doc_fusion"):
        runs = [_by_doc(run, doc_of) for run in runs]
    pairs = [(run, w) for run, w in zip(runs, (s.bm25_weight, dense_w), strict=True) if run]
    if not pairs:
        return []
    if s.fusion == "rrf":
        fused = rrf([[k for k, _ in run] for run, _ in pairs], k=s.rrf_k, weights=[w for _, w in pairs])
    else:
        fused = score_fusion([run for run, _ in pairs], weights=[w for _, w in pairs], method=s.fusion)
    return [k for k, _ in fused][:100]


def replay(rp: Replay, s: RetrievalSettings, extra: Mapping[str, Any]) -> float:
    run = {qid: replay_query(c, s, extra, rp) for qid, c in rp.queries.items()}
    return evaluate_run(run, rp.qrels)["ndcg@10"]


# -- driver ---------------------------------------------------------------------------------------------------


def configs(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.configs:
        return list(args.configs)
    grid = args.grid or {"rrf_k": [20]}
    keys = sorted(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/ragd-tune"))
    ap.add_argument("--datasets", nargs="*", default=DATASETS)
    ap.add_argument("--grid", type=json.loads, default=None, help="JSON dict of RetrievalSettings lists")
    ap.add_argument("--configs", type=json.loads, default=None, help="JSON list of RetrievalSettings updates")
    ap.add_argument("--engine", choices=("real", "sim"), default="real")
    ap.add_argument("--modes", nargs="*", default=["hybrid"], help="real engine: modes to score")
    ap.add_argument("--recapture", action="store_true", help="sim: capture again (after a change of analysis)")
    ap.add_argument("--peers", type=Path, default=REPO / "bench" / "results" / "peers.json")
    args = ap.parse_args()
    peers = best_peers(args.peers)
    opened = {name: open_dataset(args.cache, name) for name in args.datasets}
    replays = {name: cached_capture(args.cache / name, opened[name], args.recapture) for name in opened} if (
        args.engine == "sim"
    ) else {}
    for update in configs(args):
        extra = {k: v for k, v in update.items() if k in SIM_KEYS}
        if extra and args.engine != "sim":
            sys.exit(f"{sorted(extra)}: only with --engine sim")
        row: dict[str, float] = {}
        for name, (r, ids, ds) in opened.items():
            settings = RetrievalSettings.model_validate(
                {**r.settings.retrieval.model_dump(), **{k: v for k, v in update.items() if k not in SIM_KEYS}}
            )
            if args.engine == "sim":
                row[f"{name}/hybrid"] = round(replay(replays[name], settings, extra), 4)
                continue
            r.retriever._settings = settings
            for mode in args.modes:
                res = score_queries(r, ds.queries, ds.qrels, mode=mode, top_k=100, ids=ids)
                row[f"{name}/{mode}"] = res["ndcg@10"]
        hybrid = {k.split("/")[0]: v for k, v in row.items() if k.endswith("/hybrid")}
        margins = {n: round(v - peers[n], 4) for n, v in hybrid.items() if n in peers}
        summary = {
            "min_margin": min(margins.values()) if margins else None,
            "mean": round(statistics.fmean(hybrid.values()), 4) if hybrid else None,
        }
        print(json.dumps({"config": update, "ndcg@10": row, "margin": margins, **summary}), flush=True)
    for r, _ids, _ds in opened.values():
        r.close()


if __name__ == "__main__":
    main()
