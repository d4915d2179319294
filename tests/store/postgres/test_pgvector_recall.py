"""pgvector HNSW against exact search on real embeddings: the cranfield dev set (titles, embedded by ragd's own
model) — the small version of ``bench/pgvector_recall.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ragd.config import Settings
from ragd.embed import create_embedder
from ragd.models import SearchFilters
from ragd.store.backend import open_backend
from ragd.store.postgres.dense import PgVectorSearch
from ragd.testing.dense_corpus import CorpusDoc, insert_postgres

CRANFIELD = Path(__file__).resolve().parents[3] / ".." / "shared" / "evaldata" / "cranfield"


def _load(name: str) -> list[dict[str, str]]:
    with (CRANFIELD / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_hnsw_recall_at_10_is_at_least_098_of_exact(pg_url: str) -> None:
    embedder = create_embedder(Settings(embedding={"max_tokens": 32}).embedding)  # titles: short passages
    corpus = [d for d in _load("corpus.jsonl") if d.get("title", "").strip()]
    vectors = embedder.embed([d["title"] for d in corpus])
    queries = embedder.embed([q["text"] for q in _load("queries.jsonl")])
    docs = [CorpusDoc(f"cran/{d['_id']}", vectors[i : i + 1], collection=f"part{i % 4}")
            for i, d in enumerate(corpus)]
    backend = open_backend(pg_url)
    exact = PgVectorSearch(pg_url, embedder.name, embedder.dim, exact=True)
    hnsw = PgVectorSearch(pg_url, embedder.name, embedder.dim, ef_search=40)  # pgvector's default ef_search
    try:
        exact.ensure_dense_index()
        insert_postgres(pg_url, docs, embedder.name)
        for filters in (None, SearchFilters(collections=["part1"])):
            recalls = []
            for q in queries:
                want = {s for s, _ in exact.search(q, 10, filters)}
                got = {s for s, _ in hnsw.search(q, 10, filters)}
                recalls.append(len(want & got) / len(want))
            assert float(np.mean(recalls)) >= 0.98, (filters, float(np.mean(recalls)))
        assert "chunk_vectors_hnsw" in hnsw.explain(queries[0], 10)
    finally:
        exact.close()
        hnsw.close()
        backend.close()
