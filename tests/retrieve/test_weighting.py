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
    assert dense_weight(1.75, 1.0, frozenset({"de", "en"}), GERMAN, LEXICAL, DISAGREEING) == 1.75
    assert dense_weight(1.75, 1.0, None, GERMAN, LEXICAL, DISAGREEING) == 1.75  # languages not declared


def test_a_model_that_does_not_know_the_language_weighs_what_bm25_corroborates() -> None:
    english_only = frozenset({"en"})
    assert dense_weight(1.75, 1.0, english_only, GERMAN, LEXICAL, DISAGREEING) == 0.0
    assert dense_weight(1.75, 1.0, english_only, GERMAN, LEXICAL, HALF) == pytest.approx(0.5)
    assert dense_weight(1.75, 1.0, english_only, GERMAN, LEXICAL, AGREEING) == 1.0
    assert dense_weight(1.75, 1.0, english_only, GERMAN, LEXICAL, DISAGREEING) < dense_weight(
        1.75, 1.0, english_only, GERMAN, LEXICAL, HALF
    )


def test_in_a_language_the_model_does_not_know_the_dense_ranking_never_outweighs_bm25() -> None:
    # the configured 1.75 is what the dense ranking is worth where the model reads the text; corroborated by BM25
    # it may at most equal BM25's own weight, whatever the two configured weights are
    english_only = frozenset({"en"})
    for base, lexical_weight in ((1.75, 1.0), (3.0, 2.0), (0.5, 1.0)):
        weight = dense_weight(base, lexical_weight, english_only, GERMAN, LEXICAL, AGREEING)
        assert weight == min(base, lexical_weight)
    assert dense_weight(0.5, 1.0, english_only, GERMAN, LEXICAL, HALF) == pytest.approx(0.25)


def test_a_query_of_unknown_language_is_not_one_the_model_knows() -> None:
    assert not knows_language(frozenset({"en"}), NO_EVIDENCE)
    assert knows_language(frozenset({"en"}), Detection("en", 0.4))


def test_agreement_with_short_or_empty_lists() -> None:
    assert agreement([], DISAGREEING, 10) == 1.0  # nothing to contradict the only ranking there is
    assert agreement(LEXICAL, [], 10) == 1.0
    assert agreement(ranked(3), ranked(3, 50, 51), 10) == 1.0  # over the shorter list
    assert agreement(ranked(3, 4), ranked(50, 3), 10) == 0.5
