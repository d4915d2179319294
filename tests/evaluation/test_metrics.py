import math
from pathlib import Path

import pytest

from ragd.evaluation import load_beir
from ragd.evaluation.metrics import (
    METRIC_NAMES,
    answer_in_context,
    average_precision,
    evaluate_run,
    exact_match,
    mrr_at_k,
    ndcg_at_k,
    normalize_answer,
    recall_at_k,
    token_f1,
)

EVALDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "evaldata"


# --- nDCG -----------------------------------------------------------------------------------------


def test_ndcg_graded_gain_and_log2_discount() -> None:
    qrels = {"a": 3, "b": 2, "c": 1}
    # DCG = 1/log2(2) + 0 + 3/log2(4) = 2.5 ; IDCG = 3/1 + 2/log2(3) + 1/log2(4)
    expected = 2.5 / (3 + 2 / math.log2(3) + 0.5)
    assert ndcg_at_k(["c", "x", "a"], qrels, 10) == pytest.approx(expected)
    assert ndcg_at_k(["a", "b", "c"], qrels, 10) == pytest.approx(1.0)


def test_ndcg_cuts_run_and_ideal_at_k() -> None:
    qrels = {f"d{i}": 1 for i in range(12)}
    assert ndcg_at_k([f"d{i}" for i in range(12)], qrels, 10) == pytest.approx(1.0)
    # the only relevant document at rank 11 is outside the cut
    ranked = [f"x{i}" for i in range(10)] + ["r"]
    assert ndcg_at_k(ranked, {"r": 2}, 10) == 0.0
    assert ndcg_at_k(ranked, {"r": 2}, 11) == pytest.approx(1 / math.log2(12))


def test_ndcg_zero_grades_and_duplicates() -> None:
    assert ndcg_at_k(["a", "b"], {"a": 0, "b": 0}, 10) == 0.0
    # a repeated id counts once, at its first rank: "a" then "b" at rank 2
    assert ndcg_at_k(["a", "a", "b"], {"b": 1}, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k([], {"a": 1}, 10) == 0.0


# --- recall, MRR, AP ------------------------------------------------------------------------------


def test_recall_at_k() -> None:
    qrels = {"a": 1, "b": 2, "c": 1, "d": 0}
    ranked = ["a", "d", "x", "c"]
    assert recall_at_k(ranked, qrels, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, qrels, 4) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, {"d": 0}, 4) == 0.0


def test_mrr_at_k() -> None:
    assert mrr_at_k(["x", "y", "a", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["x", "y", "a"], {"a": 1}, 2) == 0.0
    assert mrr_at_k(["x", "a"], {"x": 0, "a": 4}, 10) == pytest.approx(0.5)


def test_average_precision() -> None:
    qrels = {"a": 1, "b": 3, "c": 1}
    # relevant at ranks 1 and 3; "c" never retrieved
    assert average_precision(["a", "x", "b", "y"], qrels) == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert average_precision(["x"], qrels) == 0.0
    assert average_precision(["a"], {"a": 0}) == 0.0


# --- evaluate_run ---------------------------------------------------------------------------------


def test_evaluate_run_means_over_judged_queries_only() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 2}}
    run = {
        "q1": ["a", "x"],  # perfect
        "q2": ["x", "b"],  # relevant at rank 2
        # q3 judged but absent: scores 0
        "unjudged": ["a", "b", "c"],  # ignored
    }
    result = evaluate_run(run, qrels)
    assert tuple(result) == METRIC_NAMES
    assert result["ndcg@10"] == pytest.approx((1 + 1 / math.log2(3) + 0) / 3)
    assert result["recall@10"] == pytest.approx(2 / 3)
    assert result["recall@100"] == pytest.approx(2 / 3)
    assert result["mrr@10"] == pytest.approx((1 + 0.5) / 3)
    assert result["map"] == pytest.approx((1 + 0.5) / 3)


def test_evaluate_run_empty_results_and_no_qrels() -> None:
    assert evaluate_run({"q": []}, {"q": {"a": 1}}) == dict.fromkeys(METRIC_NAMES, 0.0)
    assert evaluate_run({"q": ["a"]}, {}) == dict.fromkeys(METRIC_NAMES, 0.0)


def test_evaluate_run_perfect_run_on_real_graded_qrels() -> None:
    ds = load_beir(EVALDATA / "cranfield")
    perfect = {qid: sorted(judged, key=lambda d: -judged[d]) for qid, judged in ds.qrels.items()}
    result = evaluate_run(perfect, ds.qrels)
    for name in ("ndcg@10", "recall@100", "mrr@10", "map"):
        assert result[name] == pytest.approx(1.0), name
    # a query with more than 10 relevant documents cannot reach recall@10 = 1
    expected_r10 = sum(min(10, len(j)) / len(j) for j in ds.qrels.values()) / len(ds.qrels)
    assert result["recall@10"] == pytest.approx(expected_r10)
    assert expected_r10 < 1.0
    reversed_run = {qid: ranked[::-1] for qid, ranked in perfect.items()}
    worse = evaluate_run(reversed_run, ds.qrels)
    assert worse["ndcg@10"] < 1.0
    assert worse["recall@100"] == pytest.approx(1.0)


# --- answers --------------------------------------------------------------------------------------


def test_answer_in_context_ignores_case_accents_whitespace() -> None:
    passages = ["Il visita le Château de\n  Versailles en 1682.", "autre"]
    assert answer_in_context(passages, ["chateau de versailles"])
    assert answer_in_context(passages, ["nope", "ÉN 1682"])
    assert not answer_in_context(passages, ["Louvre"])
    assert not answer_in_context(passages, ["", "  "])
    assert not answer_in_context([], ["Versailles"])


def test_normalize_answer_squad_style_english_and_french() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("L'avion de la compagnie") == "avion compagnie"
    assert normalize_answer("les chats et des chiens du quartier") == "chats et chiens quartier"
    assert normalize_answer("«Une» réponse d’hier") == "réponse hier"


def test_exact_match() -> None:
    assert exact_match("the Eiffel tower.", ["Eiffel Tower"]) == 1.0
    assert exact_match("la tour Eiffel", ["Tour Eiffel", "x"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    assert exact_match("Eiffel", []) == 0.0


def test_token_f1() -> None:
    # pred tokens [cat, sat, on, mat], gold [cat, sat]: P = 2/4, R = 2/2, F1 = 2/3
    assert token_f1("The cat sat on the mat", ["a cat sat"]) == pytest.approx(2 / 3)
    assert token_f1("The cat sat on the mat", ["dog", "cat sat on mat"]) == pytest.approx(1.0)
    assert token_f1("dog", ["cat"]) == 0.0
    assert token_f1("the", ["a"]) == 1.0  # both normalise to nothing
    assert token_f1("cat", []) == 0.0
