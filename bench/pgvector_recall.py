"""Recall of pgvector HNSW against exact search, on the dev sets embedded by ragd's own model
(``retrieval.dense_index = store``, :mod:`ragd.store.postgres.dense`).

    python bench/pgvector_recall.py [--sets adi medline ...] [--ef 40 100 200] [--max-queries 200]
                                    [--url postgresql://ragd:ragd@127.0.0.1:5432/ragd_test] [--cache DIR]

Every passage of every set (``../shared/evaldata``, one set per collection, one chunk per passage: the dev
passages are shorter than a chunk) is embedded with ``ragd.embed.create_embedder`` (the packaged
all-MiniLM-L6-v2, 256 tokens), written to PostgreSQL as chunks (the ``chunk_vectors`` trigger copies them) in a
fresh schema, and indexed (HNSW m=16, ef_construction=64). Each set's queries (at most ``--max-queries``) are then
searched for their top 10:

* exact (index scans off), checked against the in-memory ``DenseIndex`` on the same vectors (same ids);
* HNSW at each ``hnsw.ef_search``, unfiltered over the whole corpus and filtered to the query's own collection
  (iterative scan, relaxed order): recall@10 = |HNSW top 10 ∩ exact top 10| / 10, averaged, plus latency and how
  many searches fell back to exact; ``_ties``: a hit counts when its cosine reaches the exact k-th one's (duplicate
  passages tie, and exact search lists an arbitrary one of them); and the same at k = 100, the depth the retriever
  asks for (``retrieval.candidates``; ``hnsw.ef_search`` is then raised to 100).

Writes ``bench/results/pgvector_recall.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from _common import DATASETS, EVALDATA, REPO_ROOT, latency_stats

from ragd.config import Settings
from ragd.embed import create_embedder
from ragd.index.dense import DenseIndex
from ragd.models import SearchFilters
from ragd.store.backend import open_backend
from ragd.store.postgres.dense import PgVectorSearch
from ragd.testing.dense_corpus import CorpusDoc, insert_postgres

K = 10
DEPTH = 100
"""The retriever's default depth (``retrieval.candidates``): what each dense search asks for in production."""


class Exact:
    """An exact top k: its ids, and the score of its last (the k-th) hit."""

    def __init__(self, hits: list[tuple[int, float]]) -> None:
        self.ids = [s for s, _ in hits]
        self.kth = hits[-1][1] if hits else float("-inf")


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _embed(embedder: Any, texts: list[str], cache: Path | None, tag: str) -> np.ndarray:
    key = hashlib.sha256(("\x00".join(texts) + embedder.name).encode()).hexdigest()[:16]
    file = cache / f"{tag}-{key}.npy" if cache else None
    if file is not None and file.exists():
        return np.load(file)
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        np.save(file, vectors)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(DATASETS))
    parser.add_argument("--ef", nargs="+", type=int, default=[40, 100, 200])
    parser.add_argument("--max-queries", type=int, default=200)
    parser.add_argument("--url", default="postgresql://ragd:ragd@127.0.0.1:5432/ragd_test")
    parser.add_argument("--cache", type=Path, default=None, help="keep the embeddings here between runs")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench" / "results" / "pgvector_recall.json")
    args = parser.parse_args()

    embedder = create_embedder(Settings().embedding)
    docs: list[CorpusDoc] = []
    queries: list[tuple[str, np.ndarray]] = []
    t0 = time.perf_counter()
    for name in args.sets:
        corpus = _load(EVALDATA / name / "corpus.jsonl")
        texts = [f"{d.get('title', '')}\n{d['text']}".strip() for d in corpus]
        vectors = _embed(embedder, texts, args.cache, f"{name}-corpus")
        docs += [CorpusDoc(f"{name}/{d['_id']}", vectors[i : i + 1], collection=name) for i, d in enumerate(corpus)]
        asked = _load(EVALDATA / name / "queries.jsonl")[: args.max_queries]
        qv = _embed(embedder, [q["text"] for q in asked], args.cache, f"{name}-queries")
        queries += [(name, v) for v in qv]
    embed_s = time.perf_counter() - t0
    print(f"{len(docs)} passages, {len(queries)} queries embedded in {embed_s:.0f} s")

    schema = f"bench_{uuid.uuid4().hex[:12]}"

    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[call-overload]
    url = f"{args.url}?options=-csearch_path%3D{schema}%2Cpublic"
    try:
        result = _measure(url, embedder.name, embedder.dim, docs, queries, args)
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[call-overload]
    result.update(machine=f"{platform.machine()}, {platform.python_version()}", embed_s=round(embed_s, 1),
                  model=embedder.name, sets=args.sets, passages=len(docs), queries=len(queries),
                  date=time.strftime("%Y-%m-%d"))
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["hnsw"], indent=2))


def _measure(url: str, model: str, dim: int, docs: list[CorpusDoc], queries: list[tuple[str, np.ndarray]],
             args: argparse.Namespace) -> dict[str, Any]:
    backend = open_backend(url)
    search = PgVectorSearch(url, model, dim)
    try:
        t0 = time.perf_counter()
        search.ensure_dense_index()  # empty: types the table, turns the trigger on
        seq_of: dict[str, int] = {}
        for start in range(0, len(docs), 2000):
            seq_of.update(insert_postgres(url, docs[start : start + 2000], model))
        insert_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        search.rebuild()  # the HNSW build over every row at once, as at a first start on an existing corpus
        build_s = time.perf_counter() - t0

        memory = DenseIndex(Path("unused"), model, dim)  # the in-memory index on the same (original) vectors
        memory.add(np.array([seq_of[d.chunk_id(0)] for d in docs], dtype=np.int64),
                   np.concatenate([d.vectors for d in docs]))
        def own(collection: str, label: str) -> SearchFilters | None:
            return None if label == "unfiltered" else SearchFilters(collections=[collection])

        labels = ("unfiltered", "own_collection")
        search.exact = True
        truth: dict[tuple[str, int], list[Exact]] = {}
        mismatches = 0
        for label in labels:
            for k in (K, DEPTH):
                truth[label, k] = [Exact(search.search(q, k, own(c, label))) for c, q in queries]
        for (_, q), want in zip(queries, truth["unfiltered", K], strict=True):
            mismatches += want.ids != [s for s, _ in memory.search(q, K)]
        search.exact = False
        out: dict[str, Any] = {"insert_s": round(insert_s, 1), "hnsw_build_s": round(build_s, 1),
                               "exact_vs_memory_mismatched_queries": mismatches, "hnsw": {}}
        for ef in args.ef:
            search.ef_search = ef
            for label in labels:
                for k in (K, DEPTH):
                    fallbacks = search.exact_fallbacks
                    recalls, tie_recalls, seconds = [], [], []
                    for (collection, q), want in zip(queries, truth[label, k], strict=True):
                        start = time.perf_counter()
                        got = search.search(q, k, own(collection, label))
                        seconds.append(time.perf_counter() - start)
                        recalls.append(len({s for s, _ in got} & set(want.ids)) / max(len(want.ids), 1))
                        # a passage whose cosine reaches the exact k-th one's is as right as the one exact search
                        # listed (duplicate passages tie, and exact search keeps an arbitrary one of them)
                        tie_recalls.append(sum(score >= want.kth - 1e-6 for _, score in got) / max(len(want.ids), 1))
                    out["hnsw"][f"ef{ef}_{label}_k{k}"] = {
                        f"recall@{k}": round(float(np.mean(recalls)), 4), "min_recall": round(min(recalls), 2),
                        f"recall@{k}_ties": round(float(np.mean(tie_recalls)), 4),
                        "min_recall_ties": round(min(tie_recalls), 2),
                        "exact_fallbacks": search.exact_fallbacks - fallbacks,
                        **{name: round(v, 2) for name, v in latency_stats(seconds).items()}}
        return out
    finally:
        search.close()
        backend.close()


if __name__ == "__main__":
    main()
