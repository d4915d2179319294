"""Hybrid retrieval: BM25 (store) + dense (the in-memory derived index, or pgvector inside PostgreSQL with
``retrieval.dense_index = store``: :data:`DenseSearch`), fused (normalised scores or reciprocal ranks, with an
optional second dense pass after pseudo-relevance feedback), near-duplicates collapsed. Defaults and their
measurements: docs/benchmarks.md."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from ragd.config import RetrievalSettings
from ragd.embed.base import Embedder
from ragd.index.dense import DenseIndex
from ragd.index.lexical import LexicalIndex
from ragd.models import ScoredChunk, SearchFilters
from ragd.observability.hooks import NO_HOOKS, Hooks
from ragd.retrieve.analysis import analyze_query, present_languages
from ragd.retrieve.filter_cache import FilterCache
from ragd.retrieve.fusion import rocchio, rrf, score_fusion
from ragd.retrieve.language import Detection, detect
from ragd.retrieve.rerank import Reranker, RerankUnavailable, rerank_order
from ragd.retrieve.weighting import dense_weight as weigh_dense
from ragd.store.base import ChangeFeed, DocumentStore

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense"]


class FilteringDenseSearch(Protocol):
    """A dense search that applies the access filters in its own query (``retrieval.dense_index = store``:
    :class:`ragd.store.postgres.dense.PgVectorSearch`): it is given the filters, not a mask, and needs no catching
    up from the change feed. The rest is :class:`DenseIndex`'s shape, which the composition root and readiness use
    on either kind (``sync``/``save`` have nothing to do here)."""

    model: str
    dim: int

    @property
    def watermark(self) -> int: ...

    def search(self, query: np.ndarray, k: int, filters: SearchFilters | None = None) -> list[tuple[int, float]]:
        ...

    def vectors(self, seqs: Iterable[int]) -> dict[int, np.ndarray]: ...

    def sync(self, store: ChangeFeed) -> int: ...

    def save(self) -> None: ...

    def rebuild(self, store: ChangeFeed) -> int: ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...


DenseSearch = DenseIndex | FilteringDenseSearch
"""The dense side of the retriever: the in-memory :class:`DenseIndex` (caught up from the store's change feed,
filtered by a mask of the allowed seqs that :meth:`Store.allowed_seqs` gives), or a search in the database that
takes the filters themselves."""


@dataclass(slots=True)
class Retrieval:
    hits: list[ScoredChunk]
    query_vector: np.ndarray | None
    terms: list[str]
    timings_ms: dict[str, float] = field(default_factory=dict)
    mode: str = ""
    """The search that ran: ``hybrid``, ``bm25`` or ``dense`` (the request's, else ``retrieval.mode``)."""


class SearchStore(DocumentStore, ChangeFeed, Protocol):
    """The ports retrieval reads: chunks, lexical search and access masks, and the change feed its in-memory
    indexes follow."""


class Retriever:
    def __init__(
        self, store: SearchStore, embedder: Embedder, index: DenseSearch, settings: RetrievalSettings,
        reranker: Reranker | None = None, rerank_candidates: int = 30, lexical: LexicalIndex | None = None,
        hooks: Hooks = NO_HOOKS,
    ) -> None:
        self._hooks = hooks  # spans: search, embed (the query), rerank (ragd.observability.hooks)
        self._reranker = reranker
        self._rerank_candidates = rerank_candidates
        self._store = store
        self._embedder = embedder
        self._index = index
        self._lexical = lexical
        self._settings = settings
        self._allowed: FilterCache[np.ndarray] = FilterCache()
        self._present: FilterCache[dict[str, float] | None] = FilterCache()

    def _present_languages(self, filters: SearchFilters | None, version: int) -> dict[str, float] | None:
        """The languages of the chunks a search with ``filters`` may return, and their shares (``None`` for no
        restriction: :func:`~ragd.retrieve.analysis.present_languages`): a question is analysed in the languages
        of the collections it searches, not of other tenants' or collections'. Cached per filter like the allowed
        mask, counted again only when the store changed since (``version``: its last change id)."""
        return self._present.get(
            repr(filters), version, lambda: present_languages(self._store.chunk_languages(filters))
        )

    def _allowed_mask(self, filters: SearchFilters, version: int) -> np.ndarray:
        """The chunks a filtered search may return, as a boolean mask indexed by seq, cached per filter until the
        store changes (every query of a non-admin user carries an access filter; recomputing it costs a scan of
        the chunks). ``version``: the store's last change id."""
        return self._allowed.get(repr(filters), version, lambda: self._mask(filters))

    def _mask(self, filters: SearchFilters) -> np.ndarray:
        seqs = self._store.allowed_seqs(filters)
        mask = np.zeros(int(seqs.max()) + 1 if len(seqs) else 0, dtype=bool)
        mask[seqs] = True
        return mask

    def _search_lexical(
        self, terms: list[str], filters: SearchFilters | None, depth: int, version: int
    ) -> list[tuple[int, float]]:
        """BM25 in the in-memory index once it is built (caught up with the store first), else in the store's own
        full-text index: the two rank alike (``ragd.testing.store_conformance_lexical``), so a query that comes
        while the server is still building the index (or from a one-shot CLI process, which never builds it) is
        answered the same way, only slower."""
        if self._lexical is None or not self._lexical.built:
            return self._store.search_lexical(terms, filters, depth)
        allowed = self._allowed_mask(filters, version) if filters else None
        if self._lexical.watermark < version:
            self._lexical.sync(self._store)
        return self._lexical.search(terms, depth, allowed)

    def search(
        self,
        query: str,
        *,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode | None = None,
        candidates: int | None = None,
    ) -> Retrieval:
        with self._hooks.span("search"):
            return self._search(query, top_k, filters, mode, candidates)

    def _search(
        self, query: str, top_k: int | None, filters: SearchFilters | None, mode: Mode | None, candidates: int | None
    ) -> Retrieval:
        s = self._settings
        top_k = top_k or s.top_k
        mode = mode or s.mode
        depth = max(candidates or s.candidates, top_k)
        filters = filters if filters and not filters.is_empty() else None
        t: dict[str, float] = {}
        t0 = time.perf_counter()
        version = self._store.last_change_id()  # the derived indexes catch up to it; filter masks are cached by it
        present = self._present_languages(filters, version)  # analysed in the languages of what it may search
        terms = analyze_query(query, present=present)
        lexical_hits: list[tuple[int, float]] = []
        if mode in ("hybrid", "bm25") and terms:
            lexical_hits = self._search_lexical(terms, filters, depth, version)
        t1 = time.perf_counter()
        t["lexical"] = (t1 - t0) * 1000
        qv: np.ndarray | None = None
        dense_hits: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense"):
            with self._hooks.span("embed"):
                qv = self._embedder.embed_query(query)
            t2 = time.perf_counter()
            t["embed_query"] = (t2 - t1) * 1000
            dense_hits = self._dense(qv, depth, filters, version)
            t["dense"] = (time.perf_counter() - t2) * 1000
        t3 = time.perf_counter()
        dense_weight = 1.0
        if mode == "hybrid":
            # the configured weight if the model knows the query's language, else as far as BM25 corroborates it
            languages = getattr(self._embedder, "languages", None)
            dense_weight = s.dense_weight
            if languages is not None:  # a model that declares no languages is trusted with every one
                language = self._query_language(query, lexical_hits, present)
                dense_weight = weigh_dense(
                    s.dense_weight, s.bm25_weight, languages, language, lexical_hits, dense_hits
                )
        fused = self._fuse(mode, dense_weight, lexical_hits, dense_hits)
        if mode == "hybrid" and qv is not None and dense_weight > 0 and s.feedback_passages > 0 and fused:
            t4 = time.perf_counter()
            dense_hits = self._feedback_search(qv, fused[: s.feedback_passages], depth, filters, version)
            fused = self._fuse(mode, dense_weight, lexical_hits, dense_hits)
            t["feedback"] = (time.perf_counter() - t4) * 1000
        lexical = [seq for seq, _ in lexical_hits]
        dense = [seq for seq, _ in dense_hits]
        pool = max(top_k, self._rerank_candidates) if self._reranker is not None else top_k
        hits = self._materialise(fused, lexical, dense, qv, pool)
        t["fuse"] = (time.perf_counter() - t3) * 1000
        if self._reranker is not None and len(hits) > 1:
            hits = self._rerank(query, hits, t)
        hits = hits[:top_k]
        t["retrieval"] = (time.perf_counter() - t0) * 1000
        return Retrieval(hits=hits, query_vector=qv, terms=terms, timings_ms=t, mode=mode)

    def _query_language(
        self, query: str, lexical: list[tuple[int, float]], present: dict[str, float] | None = None
    ) -> Detection:
        """The query's language, among the ``present`` ones when given (as for its analysis); a query with no
        evidence of any (a few keywords) takes the language of the passages it matched lexically (the best
        three), as the words it shares with them are theirs."""
        found = detect(query, among=present)
        if found.confidence > 0 or not lexical:
            return found
        chunks = self._store.get_chunks([seq for seq, _ in lexical[:3]])
        return detect(" ".join(c.text for c in chunks), among=present)

    def _dense(
        self, qv: np.ndarray, depth: int, filters: SearchFilters | None, version: int
    ) -> list[tuple[int, float]]:
        """The dense search: the in-memory index caught up to ``version`` and masked by the allowed seqs, or the
        database's own search given the filters."""
        index = self._index
        if not isinstance(index, DenseIndex):
            return index.search(qv, depth, filters)
        if index.watermark < version:
            index.sync(self._store)
        allowed = self._allowed_mask(filters, version) if filters else None
        return index.search(qv, depth, allowed)

    def _feedback_search(
        self, qv: np.ndarray, best: list[tuple[int, float]], depth: int, filters: SearchFilters | None, version: int
    ) -> list[tuple[int, float]]:
        """The dense search again, with the query vector moved towards the first pass's best passages
        (:func:`~ragd.retrieve.fusion.rocchio`); the same filter applies."""
        vecs = self._index.vectors([seq for seq, _ in best])
        feedback = [vecs[seq] for seq, _ in best if seq in vecs]
        moved = rocchio(qv, feedback, self._settings.feedback_weight)
        return self._dense(moved, depth, filters, version)

    def _fuse(
        self, mode: Mode, dense_weight: float, lexical: list[tuple[int, float]], dense: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """One ranking of chunk seqs. A single-retriever mode keeps that retriever's order (RRF scores); hybrid
        weighs each ranking (``dense_weight``: :func:`ragd.retrieve.weighting.dense_weight`) and merges
        them with ``settings.fusion``: reciprocal rank or a weighted sum of per-query normalised scores."""
        s = self._settings
        if mode != "hybrid":
            only = [seq for seq, _ in (lexical or dense)]
            return rrf([only], k=s.rrf_k) if only else []
        pairs = [(run, w) for run, w in ((lexical, s.bm25_weight), (dense, dense_weight)) if run]
        if not pairs:
            return []
        if s.fusion == "rrf":
            return rrf([[seq for seq, _ in run] for run, _ in pairs], k=s.rrf_k, weights=[w for _, w in pairs])
        return score_fusion([run for run, _ in pairs], weights=[w for _, w in pairs], method=s.fusion)

    def _rerank(self, query: str, hits: list[ScoredChunk], t: dict[str, float]) -> list[ScoredChunk]:
        """Re-order the fused candidates by the reranker's scores; on any failure keep the fused order (the
        timings then carry ``rerank_failed``)."""
        assert self._reranker is not None
        t0 = time.perf_counter()
        try:
            with self._hooks.span("rerank"):
                scores = self._reranker.scores(query, [h.chunk.text for h in hits])
        except RerankUnavailable as exc:
            log.warning("reranker unavailable, keeping the fused order: %s", exc)
            t["rerank_failed"] = 1.0
            return hits
        finally:
            t["rerank"] = (time.perf_counter() - t0) * 1000
        return [hits[i] for i in rerank_order(scores)]

    def _materialise(
        self,
        fused: list[tuple[int, float]],
        lexical: list[int],
        dense: list[int],
        qv: np.ndarray | None,
        top_k: int,
    ) -> list[ScoredChunk]:
        """Load the best chunks, collapsing near-duplicates, until ``top_k`` distinct ones are found."""
        lex_rank = {seq: i + 1 for i, seq in enumerate(lexical)}
        dense_rank = {seq: i + 1 for i, seq in enumerate(dense)}
        out: list[ScoredChunk] = []
        kept_vecs: list[np.ndarray] = []
        kept_hashes: set[str] = set()
        pos = 0
        window = max(top_k * 2, 10)
        while len(out) < top_k and pos < len(fused):
            batch = fused[pos : pos + window]
            pos += window
            chunks = self._store.get_chunks([seq for seq, _ in batch])
            by_seq = {c.seq: c for c in chunks}
            vecs = self._index.vectors(list(by_seq))
            for seq, score in batch:
                chunk = by_seq.get(seq)
                if chunk is None or chunk.content_hash in kept_hashes:
                    continue
                vec = vecs.get(seq)
                if vec is not None and any(
                    float(vec @ k) >= self._settings.dedup_threshold for k in kept_vecs
                ):
                    continue
                sim = float(vec @ qv) if vec is not None and qv is not None else None
                out.append(ScoredChunk(chunk, score, lex_rank.get(seq), dense_rank.get(seq), sim))
                kept_hashes.add(chunk.content_hash)
                if vec is not None:
                    kept_vecs.append(vec)
                if len(out) == top_k:
                    break
        return out
