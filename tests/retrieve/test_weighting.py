"""The dense weight rule: the configured weight where the model knows the query's language, else scaled by how
far the lexical top 10 corroborates the dense top 10."""

from __future__ import annotations

import pytest

from ragd.retrieve.language import Detection
from ragd.retrieve.weighting import agreement, dense_weight, knows_language

GERMAN = Detection("de", 0.9)
NO_EVIDENCE = Detection("en", 0.0)


def ranked(*seqs: int) -> list[tuple[int, float]]:
    return [(seq, 1.0 / (i + 1)) for i, seq in enumerate(seqs)]


LEXICAL = ranked(*range(10))
AGREEING = ranked(9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
DISAGREEING = ranked(*range(100, 110))
HALF = ranked(0, 100, 1, 101, 2, 102, 3, 103, 4, 104)


def test_a_model_that_knows_the_language_keeps_its_weight_whatever_the_lists() -> None:
    assert dense_weight(1.75, frozenset({"de", "en"}), GERMAN, LEXICAL, DISAGREEING) == 1.75
    assert dense_weight(1.75, None, GERMAN, LEXICAL, DISAGREEING) == 1.75  # languages not declared


def test_a_model_that_does_not_know_the_language_weighs_what_bm25_corroborates() -> None:
    english_only = frozenset({"en"})
    assert dense_weight(1.75, english_only, GERMAN, LEXICAL, DISAGREEING) == 0.0
    assert dense_weight(1.75, english_only, GERMAN, LEXICAL, HALF) == pytest.approx(0.875)
    assert dense_weight(1.75, english_only, GERMAN, LEXICAL, AGREEING) == 1.75
    assert dense_weight(1.75, english_only, GERMAN, LEXICAL, DISAGREEING) < dense_weight(
        1.75, english_only, GERMAN, LEXICAL, HALF
    )


def test_a_query_of_unknown_language_is_not_one_the_model_knows() -> None:
    assert not knows_language(frozenset({"en"}), NO_EVIDENCE)
    assert knows_language(frozenset({"en"}), Detection("en", 0.4))


def test_agreement_with_short_or_empty_lists() -> None:
    assert agreement([], DISAGREEING, 10) == 1.0  # nothing to contradict the only ranking there is
    assert agreement(LEXICAL, [], 10) == 1.0
    assert agreement(ranked(3), ranked(3, 50, 51), 10) == 1.0  # over the shorter list
    assert agreement(ranked(3, 4), ranked(50, 3), 10) == 0.5
