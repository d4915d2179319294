"""Offline evaluation: BEIR-layout datasets and IR / QA metrics shared by `ragd eval` and `bench/`."""

from ragd.evaluation.beir import BeirDataset, CorpusDoc, InvalidDataset, QAItem, load_beir
from ragd.evaluation.metrics import (
    METRIC_NAMES,
    answer_in_context,
    average_precision,
    evaluate_run,
    exact_match,
    mrr_at_k,
    ndcg_at_k,
    normalize_answer,
    normalize_for_match,
    per_query_metrics,
    recall_at_k,
    token_f1,
)

__all__ = [
    "METRIC_NAMES",
    "BeirDataset",
    "CorpusDoc",
    "InvalidDataset",
    "QAItem",
    "answer_in_context",
    "average_precision",
    "evaluate_run",
    "exact_match",
    "load_beir",
    "mrr_at_k",
    "ndcg_at_k",
    "normalize_answer",
    "normalize_for_match",
    "per_query_metrics",
    "recall_at_k",
    "token_f1",
]
