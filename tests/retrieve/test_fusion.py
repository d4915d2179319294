import numpy as np
import pytest

from ragd.retrieve.fusion import normalize, rocchio, rrf, score_fusion


def test_rrf_rewards_agreement() -> None:
    fused = rrf([["a", "b", "c"], ["b", "c", "a"]], k=60)
    assert fused[0][0] == "b"
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_rrf_weights_and_disjoint_lists() -> None:
    fused = dict(rrf([["a"], ["b"]], k=1, weights=[2.0, 1.0]))
    assert fused == {"a": 1.0, "b": 0.5}


def test_rrf_rejects_mismatched_weights() -> None:
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1.0, 2.0])


def test_normalize_minmax_and_zscore() -> None:
    assert normalize([3.0, 1.0, 2.0], "minmax") == [1.0, 0.0, 0.5]
    assert normalize([5.0, 5.0], "minmax") == [1.0, 1.0]
    z = normalize([1.0, 2.0, 3.0], "zscore")
    assert z == pytest.approx([-(1.5**0.5), 0.0, 1.5**0.5])
    assert normalize([2.0, 2.0], "zscore") == [0.0, 0.0]
    assert normalize([], "minmax") == []
    with pytest.raises(ValueError):
        normalize([1.0], "rank")  # type: ignore[arg-type]


def test_score_fusion_is_a_weighted_sum_of_normalised_scores() -> None:
    bm25 = [("a", 12.0), ("b", 8.0), ("c", 2.0)]
    dense = [("c", 0.9), ("b", 0.7), ("d", 0.4)]
    fused = dict(score_fusion([bm25, dense], weights=[1.0, 2.0], method="minmax"))
    # a: 1 + 2*0 (absent from dense: its floor) ; b: 0.6 + 2*0.6 ; c: 0 + 2*1 ; d: 0 (absent from bm25) + 2*0
    assert fused == pytest.approx({"a": 1.0, "b": 1.8, "c": 2.0, "d": 0.0})
    ranked = [k for k, _ in score_fusion([bm25, dense], weights=[1.0, 2.0], method="minmax")]
    assert ranked == ["c", "b", "a", "d"]


def test_score_fusion_uses_scores_not_ranks() -> None:
    # the same two rankings; RRF ties a and b, score fusion sees that b is nearly as good as a for BM25 but
    # far better than a for the dense retriever
    bm25 = [("a", 10.0), ("b", 9.9), ("c", 0.0)]
    dense = [("b", 0.9), ("a", 0.1), ("c", 0.0)]
    assert rrf([[k for k, _ in bm25], [k for k, _ in dense]])[0][1] == rrf([["b", "a"], ["a", "b"]])[0][1]
    assert score_fusion([bm25, dense])[0][0] == "b"


def test_score_fusion_zscore_floor_for_missing_ids() -> None:
    fused = dict(score_fusion([[("a", 3.0), ("b", 1.0)], [("c", 1.0)]], method="zscore"))
    # run 1: a=+1, b=-1 (floor -1); run 2: a single score, z=0 (floor 0)
    assert fused == pytest.approx({"a": 1.0, "b": -1.0, "c": -1.0})


def test_score_fusion_zero_weight_run_adds_ids_but_no_score() -> None:
    fused = score_fusion([[("a", 2.0), ("b", 1.0)], [("c", 0.9), ("a", 0.1)]], weights=[1.0, 0.0])
    assert fused == [("a", 1.0), ("b", 0.0), ("c", 0.0)]
    assert score_fusion([[], [("c", 0.9)]], weights=[1.0, 0.0]) == [("c", 0.0)]
    assert score_fusion([[], []]) == []


def test_score_fusion_keeps_first_score_of_a_repeated_id_and_checks_weights() -> None:
    assert dict(score_fusion([[("a", 2.0), ("b", 1.0), ("a", 0.0)]])) == {"a": 1.0, "b": 0.5}
    with pytest.raises(ValueError):
        score_fusion([[("a", 1.0)]], weights=[1.0, 1.0])


def test_rocchio_moves_the_query_towards_the_feedback_mean() -> None:
    q = np.array([2.0, 0.0, 0.0], dtype=np.float32)
    fb = [np.array([0.0, 1.0, 0.0], dtype=np.float32), np.array([0.0, 0.0, 1.0], dtype=np.float32)]
    moved = rocchio(q, fb, 1.0)
    assert moved == pytest.approx(np.array([1.0, 0.5, 0.5]) / np.sqrt(1.5))
    assert float(np.linalg.norm(moved)) == pytest.approx(1.0)
    assert rocchio(q, fb, 0.0) == pytest.approx([1.0, 0.0, 0.0])  # no weight: the unit query
    assert rocchio(q, [], 2.0) == pytest.approx([1.0, 0.0, 0.0])
    # feedback opposite to the query cancels it out: the unit query comes back rather than a zero vector
    assert rocchio(q, [np.array([-1.0, 0.0, 0.0], dtype=np.float32)], 1.0) == pytest.approx([1.0, 0.0, 0.0])
