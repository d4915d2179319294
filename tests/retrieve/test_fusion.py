import pytest

from ragd.retrieve.fusion import rrf


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
