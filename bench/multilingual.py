"""Per-language retrieval quality: ragd's default against the peers of each set's language, in the same run.

Run from ragd's venv, with bm25s importable (``pip install --target /work/fusion-peerlib --no-deps bm25s==0.3.16``;
it needs only numpy and PyStemmer, which ragd has)::

    PYTHONPATH=/work/fusion-peerlib nice -n 19 .venv/bin/python bench/multilingual.py \\
        --sets /work/langsets/manpages-de /work/langsets/manpages-es ../shared/evaldata/piaf-fr \\
        --cache /tmp/ragd-multilingual --out bench/results/multilingual.json

Sets: BEIR folders (``bench/make_lang_sets.py`` builds the man-page ones). A set's language: ``--language
NAME=CODE``, else the ``language`` of its PROVENANCE.json, else ``fr`` for piaf-fr and ``en`` otherwise.

Peers, all on the same corpus and queries: ``bm25s`` (Snowball stemmer and bm25s stop words of the set's language,
as bench/peers.py), ``dense`` (whole documents embedded by ragd's own all-MiniLM-L6-v2 ONNX embedder, truncated at
its 256 tokens, exact cosine: the dense recipe of bench/peers.py on the same weights) and ``rrf`` (k=60 of those
two); and, as a diagnostic, ``bm25s_passages`` (the bm25s recipe over ragd's own passages, each document ranked by
its best passage as ragd's are: how much of a gap comes from the passage unit rather than ragd's ranking). ragd,
ingested once into ``--cache`` through the normal pipeline: ``bm25``, ``dense``, ``hybrid`` (the
default, with the dense-weight rule of ``ragd.retrieve.weighting``) and two reference hybrids on the same index:
``hybrid_full_dense`` (the model assumed to know every language: the configured weight on every query, what ragd
did for every language but French before the rule) and ``hybrid_no_dense`` (dense weight 0). Per set, ``paired
default - bm25s``: the per-question difference of the default and bm25s, with a bootstrap 95 % interval and the
questions won, lost and tied.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAGD_LOGGING__LEVEL", "warning")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import markdown_table, write_json
from peers import TOP_K, BM25sPeer, Hits, RRFPeer

from ragd.config import Settings
from ragd.core import Ragd
from ragd.evaluation import CorpusDoc, evaluate_run, load_beir
from ragd.evaluation.beir import BeirDataset
from ragd.evaluation.metrics import per_query_metrics
from ragd.evaluation.runner import ingest_dataset, query_languages, rank_documents, score_queries
from ragd.retrieve.analysis import analyze_query
from ragd.retrieve.weighting import AGREEMENT_DEPTH, agreement

SNOWBALL = {
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
}


class OnnxDensePeer:
    """The dense peer recipe (whole documents, exact cosine) on ragd's own embedder."""

    name = "dense"

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def build(self, docs: list[CorpusDoc]) -> None:
        import numpy as np

        self.docs = docs
        self.matrix = np.asarray(self.embedder.embed([d.full_text for d in docs]))

    def search(self, query: str, k: int = TOP_K) -> Hits:
        import numpy as np

        scores = self.matrix @ self.embedder.embed_query(query)
        top = np.argsort(-scores, kind="stable")[: min(k, len(self.docs))]
        ranked = [self.docs[int(i)] for i in top]
        return Hits([d.id for d in ranked], [d.full_text for d in ranked[:5]])


class PassagesBM25sPeer(BM25sPeer):
    """The bm25s recipe over ragd's own passages instead of whole documents, a document ranked by its best passage
    (as ragd's runs are): what of a gap to ``bm25s`` comes from the passage unit, and what from ragd's ranking."""

    name = "bm25s_passages"

    def __init__(self, language: str, ragd: Ragd, ids: dict[str, str]) -> None:
        super().__init__(language)
        self.passages = [(ids.get(c.document_id, c.document_id), c.text) for doc in ids for c in
                         ragd.store.list_chunks(doc)]  # fmt: skip

    def build(self, docs: list[CorpusDoc]) -> None:
        import bm25s

        self.retriever = bm25s.BM25()
        self.retriever.index(self._tokens([text for _, text in self.passages]), show_progress=False)

    def search(self, query: str, k: int = TOP_K) -> Hits:
        tokens = [t for t in self._tokens([query])[0] if t in self.retriever.vocab_dict]
        if not tokens:
            return Hits([], [])
        n = min(10 * k, len(self.passages))
        idx, scores = self.retriever.retrieve([tokens], k=n, show_progress=False)
        ranked = [self.passages[int(i)] for i, s in zip(idx[0], scores[0], strict=True) if s > 0]
        return Hits(list(dict.fromkeys(doc for doc, _ in ranked))[:k], [text for _, text in ranked[:5]])


def set_language(path: Path, given: dict[str, str]) -> str:
    if path.name in given:
        return given[path.name]
    prov = path / "PROVENANCE.json"
    if prov.is_file():
        return str(json.loads(prov.read_text(encoding="utf-8")).get("language", "en"))
    return "fr" if path.name == "piaf-fr" else "en"


def open_ragd(cache: Path, ds: BeirDataset) -> tuple[Ragd, dict[str, str]]:
    data = cache / ds.name
    r = Ragd(Settings(data_dir=data))
    ids_file = data / "ids.json"
    if not ids_file.exists():
        r.embedder.warm_up()
        ids_file.write_text(json.dumps(ingest_dataset(r, ds, "eval")), encoding="utf-8")
    r.build_lexical_index()
    return r, json.loads(ids_file.read_text(encoding="utf-8"))


def run_set(path: Path, language: str, cache: Path) -> dict[str, dict[str, Any]]:
    ds = load_beir(path)
    docs = list(ds.corpus.values())
    queries = [(q, t) for q, t in ds.judged_queries.items()]
    print(f"# {ds.name} ({language}): {len(docs)} docs, {len(queries)} judged queries", file=sys.stderr)
    out: dict[str, dict[str, Any]] = {}
    r, ids = open_ragd(cache, ds)
    try:
        bm25 = BM25sPeer(SNOWBALL[language])
        dense = OnnxDensePeer(r.embedder)
        peer_runs: dict[str, dict[str, list[str]]] = {}
        for peer in (bm25, dense, RRFPeer(bm25, dense), PassagesBM25sPeer(SNOWBALL[language], r, ids)):
            t0 = time.perf_counter()
            peer.build(docs)
            hits = peer_runs[peer.name] = {q: peer.search(t).doc_ids for q, t in queries}
            out[peer.name] = {**evaluate_run(hits, ds.qrels), "run_s": time.perf_counter() - t0}
        languages = query_languages(ds.queries, ds.query_languages)
        base = r.retriever._settings
        runs: list[tuple[str, str, Any, Any]] = [
            ("ragd bm25", "bm25", base, r.embedder.languages),
            ("ragd dense", "dense", base, r.embedder.languages),
            ("ragd hybrid (default)", "hybrid", base, r.embedder.languages),
            ("ragd hybrid_full_dense", "hybrid", base, None),
            ("ragd hybrid_no_dense", "hybrid", base.model_copy(update={"dense_weight": 0.0}), None),
        ]
        model_languages = r.embedder.languages
        for label, mode, settings, langs in runs:
            r.retriever._settings = settings
            r.embedder.languages = langs
            row = score_queries(r, ds.queries, ds.qrels, mode=mode, ids=ids, languages=languages)
            out[label] = {k: v for k, v in row.items() if k != "mode"}
        r.retriever._settings, r.embedder.languages = base, model_languages
        default = {q: rank_documents(r, t, "hybrid", 100, None, ids)[0] for q, t in queries}
        out[PAIRED] = paired(default, peer_runs["bm25s"], ds.qrels)
    finally:
        r.close()
    for system, m in out.items():
        if system != PAIRED:
            print(f"  {system:24s} nDCG@10 {m['ndcg@10']:.3f}", file=sys.stderr, flush=True)
    print(f"  default - bm25s, paired: {out[PAIRED]}", file=sys.stderr, flush=True)
    return out


PAIRED = "paired default - bm25s"


def paired(first: dict[str, list[str]], second: dict[str, list[str]], qrels: Any, rounds: int = 5000) -> dict[str, Any]:
    """Per-question nDCG@10 of ``first`` minus ``second``: the mean, a percentile bootstrap 95 % interval (``rounds``
    resamples of the questions, seed 0: reproducible), and the questions won, lost and tied."""
    import random

    diffs = [per_query_metrics(first[q], qrels[q])["ndcg@10"] - per_query_metrics(second[q], qrels[q])["ndcg@10"]
             for q in first]  # fmt: skip
    n = len(diffs)
    rng = random.Random(0)
    means = sorted(sum(rng.choice(diffs) for _ in range(n)) / n for _ in range(rounds))
    return {
        "mean": round(sum(diffs) / n, 4),
        "ci95": [round(means[int(0.025 * rounds)], 4), round(means[int(0.975 * rounds)], 4)],
        "won": sum(d > 0 for d in diffs),
        "lost": sum(d < 0 for d in diffs),
        "tied": sum(d == 0 for d in diffs),
    }


BUCKETS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.6), (0.6, 1.01))


def agreement_profile(path: Path, cache: Path, max_queries: int | None = None) -> dict[str, Any]:
    """Does the agreement of a question's two top-10 lists tell how good its dense ranking is? Per agreement
    bucket: the questions, and the mean nDCG@10 of ragd's dense and bm25 modes on them (the evidence for the
    rule; ``--profile``)."""
    ds = load_beir(path)
    r, ids = open_ragd(cache, ds)
    rows: list[tuple[float, float, float]] = []
    try:
        retriever = r.retriever
        version = r.store.last_change_id()
        present = retriever._present_languages(None, version)  # the query analysed as the retriever does
        for qid, text in list(ds.judged_queries.items())[:max_queries]:
            lexical = retriever._search_lexical(analyze_query(text, present=present), None, 100, version)
            dense = retriever._dense(r.embedder.embed_query(text), 100, None, version)
            a = agreement(lexical, dense, AGREEMENT_DEPTH)
            scores = []
            for mode in ("dense", "bm25"):
                ranked, _, _ = rank_documents(r, text, mode, 100, None, ids)  # type: ignore[arg-type]
                scores.append(per_query_metrics(ranked, ds.qrels[qid])["ndcg@10"])
            rows.append((a, scores[0], scores[1]))
    finally:
        r.close()
    out: dict[str, Any] = {"mean_agreement": sum(a for a, _, _ in rows) / max(len(rows), 1)}
    for lo, hi in BUCKETS:
        sel = [(d, b) for a, d, b in rows if lo <= a < hi]
        n = max(len(sel), 1)
        out[f"{lo:.1f}-{min(hi, 1.0):.1f}"] = {
            "queries": len(sel),
            "dense_ndcg@10": round(sum(d for d, _ in sel) / n, 4),
            "bm25_ndcg@10": round(sum(b for _, b in sel) / n, 4),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", type=Path, required=True)
    parser.add_argument("--language", nargs="*", default=[], help="NAME=CODE, e.g. mini-wiki=en")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ragd-multilingual"))
    parser.add_argument("--out", type=Path, default=None, help="JSON file; results are merged into it")
    parser.add_argument("--profile", action="store_true", help="only the agreement profile of each set")
    parser.add_argument("--max-queries", type=int, default=None, help="--profile: the first N judged questions")
    args = parser.parse_args(argv)
    if args.profile:
        profiles = {path.name: agreement_profile(path, args.cache, args.max_queries) for path in args.sets}
        print(json.dumps(profiles, indent=2))
        if args.out is not None:
            write_json(args.out, profiles)
        return 0
    given = dict(item.split("=", 1) for item in args.language)
    results: dict[str, Any] = {}
    if args.out is not None and args.out.is_file():
        results = json.loads(args.out.read_text(encoding="utf-8"))
    done: dict[str, Any] = {}
    for path in args.sets:
        language = set_language(path, given)
        done[path.name] = results[path.name] = {"language": language, **run_set(path, language, args.cache)}
        if args.out is not None:
            write_json(args.out, results)
    print(markdown_table({name: {k: v for k, v in r.items() if isinstance(v, dict) and k != PAIRED}
                          for name, r in done.items()}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
