"""``retrieval.dense_weight_by_language`` was removed: an old config still loads, warns, and the factors are
ignored."""

from __future__ import annotations

import logging

import pytest

from ragd.config import RetrievalSettings, Settings


def test_old_language_factors_load_with_a_warning_and_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ragd.config"):
        s = Settings(retrieval={"dense_weight": 1.5, "dense_weight_by_language": {"french": 0.3}})
    assert s.retrieval.dense_weight == 1.5
    assert not hasattr(s.retrieval, "dense_weight_by_language")
    assert "dense_weight_by_language is deprecated and ignored" in caplog.text


def test_other_unknown_retrieval_keys_are_still_refused() -> None:
    with pytest.raises(ValueError, match="not_a_setting"):
        RetrievalSettings(not_a_setting=1)  # type: ignore[call-arg]
