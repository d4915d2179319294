"""Retrieval and answer metrics: pure functions, no I/O.

Retrieval metrics follow trec_eval with graded relevance: ``qrels`` maps a document id to an integer grade;
a document is relevant when its grade is > 0; an unjudged document has grade 0. A run is a ranked list of
document ids, best first; a repeated id counts once, at its first rank.

- nDCG@k: gain = grade, discount = log2(rank + 1); the ideal ranking sorts the judged grades (trec_eval's
  ``ndcg_cut``). 0 when the query has no relevant document.
- Recall@k: relevant documents in the top k / relevant documents.
- MRR@k: 1 / rank of the first relevant document in the top k, else 0.
- AP: mean over the relevant documents of precision at the rank each one is retrieved (0 if never retrieved),
  over the whole run (trec_eval's ``map`` with the run as deep as it is given).

:func:`evaluate_run` averages over the judged queries (the keys of ``qrels``); a judged query absent from the
run, or with an empty result list, scores 0 on every metric.

Answer metrics: :func:`answer_in_context` (a gold answer is a substring of a passage, ignoring case, accents
and whitespace), :func:`exact_match` and :func:`token_f1` (SQuAD normalisation, with French articles too).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "METRIC_NAMES",
    "answer_in_context",
    "average_precision",
    "evaluate_run",
    "exact_match",
    "mrr_at_k",
    "ndcg_at_k",
    "normalize_answer",
    "normalize_for_match",
    "per_query_metrics",
    "recall_at_k",
    "token_f1",
]

Qrels = Mapping[str, Mapping[str, int]]

#: The keys :func:`evaluate_run` returns, in display order.
METRIC_NAMES: tuple[str, ...] = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map")


def _dedupe(ranked: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for doc_id in ranked:
        if doc_id not in seen:
            seen.add(doc_id)
            out.append(doc_id)
    return out


def _relevant(qrels: Mapping[str, int]) -> set[str]:
    return {doc_id for doc_id, grade in qrels.items() if grade > 0}


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """trec_eval-style nDCG@k with gain = grade and a log2(rank + 1) discount."""
    ideal_grades = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_grades))
    if idcg == 0:
        return 0.0
    dcg = 0.0
    for i, doc_id in enumerate(_dedupe(ranked)[:k]):
        grade = qrels.get(doc_id, 0)
        if grade > 0:
            dcg += grade / math.log2(i + 2)
    return dcg / idcg


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    relevant = _relevant(qrels)
    if not relevant:
        return 0.0
    return len(relevant.intersection(_dedupe(ranked)[:k])) / len(relevant)


def mrr_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    relevant = _relevant(qrels)
    for i, doc_id in enumerate(_dedupe(ranked)[:k]):
        if doc_id in relevant:
            return 1.0 / (i + 1)
    return 0.0


def average_precision(ranked: Sequence[str], qrels: Mapping[str, int]) -> float:
    relevant = _relevant(qrels)
    if not relevant:
        return 0.0
    hits = 0
    total = 0.0
    for i, doc_id in enumerate(_dedupe(ranked)):
        if doc_id in relevant:
            hits += 1
            total += hits / (i + 1)
    return total / len(relevant)


def per_query_metrics(ranked: Sequence[str], qrels: Mapping[str, int]) -> dict[str, float]:
    """Every metric of :data:`METRIC_NAMES` for one query."""
    return {
        "ndcg@10": ndcg_at_k(ranked, qrels, 10),
        "recall@10": recall_at_k(ranked, qrels, 10),
        "recall@100": recall_at_k(ranked, qrels, 100),
        "mrr@10": mrr_at_k(ranked, qrels, 10),
        "map": average_precision(ranked, qrels),
    }


def evaluate_run(run: Mapping[str, Sequence[str]], qrels: Qrels) -> dict[str, float]:
    """Mean of each metric over the judged queries (``qrels`` keys); missing or empty results score 0.

    Returns exactly the keys of :data:`METRIC_NAMES`. With no judged query every mean is 0.
    """
    sums = dict.fromkeys(METRIC_NAMES, 0.0)
    for qid, judged in qrels.items():
        for name, value in per_query_metrics(run.get(qid, ()), judged).items():
            sums[name] += value
    n = len(qrels)
    return {name: (total / n if n else 0.0) for name, total in sums.items()}


# --- answers -----------------------------------------------------------------------------------------------

_WS = re.compile(r"\s+")
_ELISION = re.compile(r"\b[ld]['’]")
_ARTICLES = re.compile(r"\b(?:a|an|the|le|la|les|un|une|des|du|de)\b")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_for_match(text: str) -> str:
    """Case-folded, accent-free, whitespace-collapsed text for substring matching."""
    return _WS.sub(" ", _strip_accents(text).casefold()).strip()


def answer_in_context(passages: Sequence[str], answers: Sequence[str]) -> bool:
    """True when some non-empty gold answer occurs in some passage, ignoring case, accents and whitespace."""
    needles = [n for n in (normalize_for_match(a) for a in answers) if n]
    if not needles:
        return False
    haystacks = [normalize_for_match(p) for p in passages]
    return any(needle in hay for needle in needles for hay in haystacks)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation and articles (English and French), squeeze spaces.

    French elisions ``l'`` and ``d'`` are removed before punctuation so ``l'avion`` becomes ``avion``.
    """
    text = unicodedata.normalize("NFC", text).lower()
    text = _ELISION.sub(" ", text)
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals some normalised gold answer, else 0.0."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(a) for a in answers))


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    """Best SQuAD token F1 of the prediction against the gold answers (0.0 with no gold answer)."""
    pred_tokens = normalize_answer(prediction).split()
    return max((_f1(pred_tokens, normalize_answer(a).split()) for a in answers), default=0.0)
