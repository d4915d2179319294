"""The dense weight of one hybrid query: what the embedding model knows, and how far its ranking is corroborated.

Rule (docs/retrieval.md, measured in docs/benchmarks.md):

- the embedding model *knows* the query's language when its languages (``Embedder.languages``, ISO 639-1) are
  not declared (``None``), or contain the detector's best guess and the detector found any evidence at all
  (``confidence > 0``; a query with no evidence is of unknown language). Then the configured ``dense_weight``
  applies unchanged;
- otherwise the dense ranking is trusted only as far as the lexical ranking corroborates it, and never more than
  the ranking that corroborates it: the weight is ``min(dense_weight, bm25_weight) × agreement``, where
  ``agreement`` is the share of the dense top ``AGREEMENT_DEPTH`` that the lexical top ``AGREEMENT_DEPTH`` also
  holds. A model that ranks a language it was not trained on at random agrees with BM25 by chance only and weighs
  almost nothing; where it finds the same passages it may break BM25's near-ties, but not outvote BM25's order
  (``dense_weight`` > ``bm25_weight`` says what the dense ranking is worth where the model reads the language:
  it does not carry over to text it cannot read).

The one constant, the depth, is not fitted to an evaluation set: it is the depth the primary metric (nDCG@10)
and a user read.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ragd.retrieve.language import Detection

AGREEMENT_DEPTH = 10


def knows_language(model_languages: Collection[str] | None, detection: Detection) -> bool:
    """Whether the model was trained on the detected language (undeclared languages: assumed yes)."""
    if model_languages is None:
        return True
    return detection.confidence > 0 and detection.code in model_languages


def agreement(lexical: Sequence[tuple[int, float]], dense: Sequence[tuple[int, float]], depth: int) -> float:
    """Share of the dense top ``depth`` also in the lexical top ``depth`` (over the shorter of the two lists);
    1.0 when either list is empty (nothing to contradict: the only ranking there is keeps its weight)."""
    top_lex = {seq for seq, _ in lexical[:depth]}
    top_dense = [seq for seq, _ in dense[:depth]]
    n = min(len(top_lex), len(top_dense))
    if n == 0:
        return 1.0
    return sum(seq in top_lex for seq in top_dense) / n


def dense_weight(
    base: float,
    lexical_weight: float,
    model_languages: Collection[str] | None,
    detection: Detection,
    lexical: Sequence[tuple[int, float]],
    dense: Sequence[tuple[int, float]],
    depth: int = AGREEMENT_DEPTH,
) -> float:
    """The weight of the dense ranking for one query (module docstring): ``base`` is ``retrieval.dense_weight``,
    ``lexical_weight`` ``retrieval.bm25_weight``."""
    if knows_language(model_languages, detection):
        return base
    return min(base, lexical_weight) * agreement(lexical, dense, depth)
