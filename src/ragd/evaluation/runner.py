"""``ragd eval``: a BEIR-layout folder through the normal ingestion and retrieval paths, scored.

The corpus is ingested into a throw-away data directory as one Markdown document per corpus entry (title as a
heading, then the text) by the same pipeline a user's files go through; every judged query runs through the
same retriever the API uses; chunk results are collapsed to documents in rank order before scoring.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ragd.config import Settings
from ragd.core import Ragd
from ragd.evaluation.beir import BeirDataset, load_beir
from ragd.evaluation.metrics import answer_in_context, evaluate_run, exact_match, token_f1
from ragd.ingest.pipeline import Upload
from ragd.models import SearchFilters
from ragd.retrieve.language import detect
from ragd.retrieve.service import Mode

MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")
Progress = Callable[[str, int, int], None]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    xs = sorted(values)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def ingest_dataset(ragd: Ragd, ds: BeirDataset, collection: str, progress: Progress | None = None) -> dict[str, str]:
    """Load the corpus; returns ragd document id → corpus id."""
    ids: dict[str, str] = {}
    total = len(ds.corpus)
    group: list[tuple[str, Upload]] = []

    def flush() -> None:
        subs = ragd.submit_many([u for _, u in group], collection=collection)
        ids.update((s.document.id, cid) for (cid, _), s in zip(group, subs, strict=True))
        group.clear()
        if progress:
            progress("queueing", len(ids), total)

    for doc in ds.corpus.values():
        # the title as a Markdown heading: it enters every chunk's heading path (indexed and embedded with it)
        body = f"# {' '.join(doc.title.split())}\n\n{doc.text}" if doc.title.strip() else doc.text
        group.append((doc.id, Upload(body.encode(), f"{doc.id}.md", "text/markdown", {"corpus_id": doc.id})))
        if len(group) >= 256:
            flush()
    if group:
        flush()
    done = 0

    def _tick(_doc: str, _status: str) -> None:
        nonlocal done
        done += 1
        if progress and done % 100 == 0:
            progress("indexing", done, total)

    ragd.workers.drain(on_done=_tick)
    return ids


def rank_documents(
    ragd: Ragd, query: str, mode: Mode, top_k: int, filters: SearchFilters | None, ids: Mapping[str, str]
) -> tuple[list[str], list[str], float]:
    """Documents in rank order (each once), the passages' texts, and the retrieval latency in ms."""
    t0 = time.perf_counter()
    res = ragd.retriever.search(query, top_k=top_k, filters=filters, mode=mode, candidates=max(top_k, 100))
    ms = (time.perf_counter() - t0) * 1000
    ranked: list[str] = []
    seen: set[str] = set()
    for h in res.hits:
        doc = ids.get(h.chunk.document_id, h.chunk.document_id)
        if doc not in seen:
            seen.add(doc)
            ranked.append(doc)
    return ranked, [h.chunk.text for h in res.hits], ms


def score_queries(
    ragd: Ragd,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    mode: Mode,
    top_k: int = 100,
    filters: SearchFilters | None = None,
    ids: Mapping[str, str] | None = None,
    languages: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Retrieval metrics over the judged queries, plus latency; with ``languages`` (query id → language) naming
    more than one language, also ``by_language``: the same metrics over each language's queries."""
    ids = ids or {}
    run: dict[str, list[str]] = {}
    lat: list[float] = []
    for qid in qrels:
        if qid not in queries:
            continue
        run[qid], _texts, ms = rank_documents(ragd, queries[qid], mode, top_k, filters, ids)
        lat.append(ms)
    judged = {q: dict(r) for q, r in qrels.items() if q in queries}
    metrics = evaluate_run(run, judged)
    out: dict[str, Any] = {
        "mode": mode,
        "queries": len(judged),
        **{k: round(v, 4) for k, v in metrics.items()},
        "latency_p50_ms": round(statistics.median(lat), 2) if lat else 0.0,
        "latency_p95_ms": round(percentile(lat, 0.95), 2),
    }
    by_language = per_language(run, judged, languages or {})
    if len(by_language) > 1:
        out["by_language"] = by_language
    return out


def query_languages(queries: Mapping[str, str], given: Mapping[str, str]) -> dict[str, str]:
    """Each query's language: the dataset's ``language`` field when it has one, else the detector's guess."""
    return {qid: given.get(qid) or detect(text).code for qid, text in queries.items()}


def per_language(
    run: Mapping[str, list[str]], judged: Mapping[str, dict[str, int]], languages: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """The run's metrics over each language's judged queries (a query without a language counts as ``und``)."""
    groups: dict[str, list[str]] = {}
    for qid in judged:
        groups.setdefault(languages.get(qid, "und"), []).append(qid)
    out: dict[str, dict[str, Any]] = {}
    for lang, qids in sorted(groups.items()):
        metrics = evaluate_run({q: run.get(q, []) for q in qids}, {q: judged[q] for q in qids})
        out[lang] = {"queries": len(qids), **{k: round(v, 4) for k, v in metrics.items()}}
    return out


def score_qa(ragd: Ragd, ds: BeirDataset, *, k: int, limit: int | None, answers: bool) -> dict[str, Any]:
    items = ds.qa[:limit] if limit else ds.qa
    in_ctx = em = f1 = 0.0
    for item in items:
        res = ragd.query(item.question, top_k=k, answer=answers)
        in_ctx += answer_in_context([h.chunk.text for h in res.retrieval.hits], item.answers)
        if res.answer is not None:
            text = " ".join(c.text for c in res.answer.citations) if res.answer.found else ""
            em += exact_match(text, item.answers)
            f1 += token_f1(text, item.answers)
    n = max(len(items), 1)
    out: dict[str, Any] = {"qa_questions": len(items), f"answer_in_context@{k}": round(in_ctx / n, 4)}
    if answers:
        out.update({"answer_exact_match": round(em / n, 4), "answer_token_f1": round(f1 / n, 4)})
    return out


def evaluate_dataset(
    directory: str | Path,
    *,
    modes: Sequence[Mode] = ("hybrid",),
    top_k: int = 100,
    settings: Settings | None = None,
    qa_k: int = 5,
    qa_limit: int | None = None,
    answers: bool = True,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Ingest ``directory``'s corpus into a throw-away data directory and score every mode. One dict per mode."""
    ds = load_beir(directory)
    with tempfile.TemporaryDirectory(prefix="ragd-eval-") as tmp:
        base = settings or Settings()
        s = base.model_copy(update={"data_dir": Path(tmp), "store": base.store.model_copy(update={"url": ""})})
        ragd = Ragd(s)
        try:
            ragd.embedder.warm_up()  # as a server does at start (and the peers get one throw-away encode)
            t0 = time.perf_counter()
            ids = ingest_dataset(ragd, ds, "eval", progress)
            ingest_s = time.perf_counter() - t0
            ragd.build_lexical_index()  # as a server does at start
            chunks = ragd.store.count_chunks()
            languages = query_languages(ds.queries, ds.query_languages)
            out = []
            for mode in modes:
                row = {
                    "dataset": ds.name,
                    **score_queries(ragd, ds.queries, ds.qrels, mode=mode, top_k=top_k, ids=ids, languages=languages),
                }
                row.update({"documents": len(ds.corpus), "chunks": chunks, "ingest_s": round(ingest_s, 2)})
                if ds.qa and mode == ragd.settings.retrieval.mode:
                    row.update(score_qa(ragd, ds, k=qa_k, limit=qa_limit, answers=answers))
                out.append(row)
            return out
        finally:
            ragd.close()
