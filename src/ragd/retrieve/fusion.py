"""Rank fusion: pure functions over ranked lists of ids (RRF) or of ``(id, score)`` pairs (score fusion), and
pseudo-relevance feedback on a query vector (Rocchio)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Literal, TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)
Normalization = Literal["minmax", "zscore"]


def rrf(
    rankings: Sequence[Sequence[K]], *, k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[K, float]]:
    """Weighted reciprocal-rank fusion: ``score(d) = Σ w_i / (k + rank_i(d))`` with ranks from 1.

    Returns ``(id, score)`` best first; ties keep the order of first appearance.
    """
    weights = weights or [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[K, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def normalize(scores: Sequence[float], method: Normalization) -> list[float]:
    """One retriever's scores for one query, made comparable with another's.

    ``minmax``: ``(s - min) / (max - min)``, in [0, 1]; all-equal scores all become 1.0 (each is the best).
    ``zscore``: ``(s - mean) / std`` (population std); all-equal scores all become 0.0. Empty in, empty out.
    """
    if not scores:
        return []
    if method == "minmax":
        lo, hi = min(scores), max(scores)
        span = hi - lo
        return [(s - lo) / span if span > 0 else 1.0 for s in scores]
    if method == "zscore":
        mean = math.fsum(scores) / len(scores)
        std = math.sqrt(math.fsum((s - mean) ** 2 for s in scores) / len(scores))
        return [(s - mean) / std if std > 0 else 0.0 for s in scores]
    raise ValueError(f"unknown normalization {method!r}")


def score_fusion(
    runs: Sequence[Sequence[tuple[K, float]]],
    *,
    weights: Sequence[float] | None = None,
    method: Normalization = "minmax",
) -> list[tuple[K, float]]:
    """Convex (weighted-sum) fusion of score lists: ``score(d) = Σ w_i · norm_i(d)``.

    Each run's scores are normalised per query with :func:`normalize` over that run's own candidates (higher is
    better). An id a run did not return gets that run's floor, its lowest normalised score (0.0 for ``minmax``):
    it ranked below everything the run kept. A run with weight 0 moves no score but still contributes its ids
    (after the others', in its order, as with :func:`rrf`). Returns ``(id, score)`` best first; ties keep the
    order of first appearance.
    """
    weights = weights or [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ValueError("one weight per run")
    kept = [(run, w) for run, w in zip(runs, weights, strict=True) if run]
    order: dict[K, None] = {}
    normalised: list[tuple[dict[K, float], float, float]] = []
    for run, w in kept:
        values = normalize([s for _, s in run], method)
        by_id: dict[K, float] = {}
        for (key, _), v in zip(run, values, strict=True):
            by_id.setdefault(key, v)  # a repeated id keeps its first (best) score
            order.setdefault(key, None)
        normalised.append((by_id, min(values), w))
    fused = {key: math.fsum(w * by_id.get(key, floor) for by_id, floor, w in normalised) for key in order}
    return sorted(fused.items(), key=lambda kv: -kv[1])


def rocchio(query: np.ndarray, feedback: Sequence[np.ndarray], weight: float) -> np.ndarray:
    """Pseudo-relevance feedback on a dense query: ``q' = q/|q| + weight · mean(feedback)``, unit length.

    ``feedback`` are the (unit) embeddings of the passages a first pass ranked best; they pull the query towards
    the vocabulary and phrasing of the collection. No feedback, or a zero weight, returns ``q/|q|``.
    """
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(q))
    q = q / norm if norm > 0 else q
    if not feedback or weight == 0:
        return q
    moved = q + np.float32(weight) * np.mean(np.stack([np.asarray(v, dtype=np.float32) for v in feedback]), axis=0)
    norm = float(np.linalg.norm(moved))
    return moved / norm if norm > 0 else q
