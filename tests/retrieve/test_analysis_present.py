"""A query analysed in the languages present in the store (ragd.retrieve.analysis, issue 19): the detection is
restricted to the languages of the live chunks, and with no such restriction nothing changes."""

from __future__ import annotations

import pytest

from ragd.retrieve.analysis import (
    MAX_QUERY_LANGUAGES,
    analyze_document,
    analyze_query,
    present_languages,
    query_languages,
)
from ragd.retrieve.language import candidates

DUTCH_QUERY = "ontleed Debian changelog-bestanden"

QUERIES = [
    DUTCH_QUERY,
    "Quelle est la capitale de la France ?",
    "Qui est Balaq ?",
    "Wo schläft die Katze?",
    "FFT",
    "Pie IV",
    "Is Egypt in Asia?",
    "1889",
]


def test_a_dutch_collection_analyses_the_query_in_dutch() -> None:
    assert query_languages(DUTCH_QUERY) == ["en"]  # what the detector says over all its languages
    assert query_languages(DUTCH_QUERY, present={"nl"}) == ["nl"]
    assert analyze_query(DUTCH_QUERY, present={"nl"}) == analyze_document(DUTCH_QUERY, "nl")
    assert "bestand" in analyze_query(DUTCH_QUERY, present={"nl"})  # the plural stemmed as the chunks' singular
    assert "bestand" not in analyze_query(DUTCH_QUERY)


def test_a_french_question_over_english_and_french_stays_french() -> None:
    for question in ("Quelle est la capitale de la France ?", "Où est né Victor Hugo ?", "Qui est Balaq ?"):
        assert query_languages(question, present={"en", "fr"}) == ["fr"]
        assert analyze_query(question, present={"en", "fr"}) == analyze_query(question, ["fr"])


def test_an_unsure_query_takes_the_most_probable_present_languages() -> None:
    present = {"de", "sv", "da"}  # look-alike languages the detector cannot choose between for an acronym
    ranked = candidates("FFT", MAX_QUERY_LANGUAGES, among=present)
    assert ranked[0].confidence < 0.5
    langs = query_languages("FFT", present=present)
    assert langs == [c.code for c in ranked] and len(langs) == MAX_QUERY_LANGUAGES
    assert query_languages("FFT", limit=1, present=present) == [ranked[0].code]


@pytest.mark.parametrize("query", QUERIES)
def test_no_restriction_is_todays_analysis(query: str) -> None:
    assert query_languages(query, present=None) == query_languages(query, present=set()) == query_languages(query)
    assert analyze_query(query, present=None) == analyze_query(query, present=frozenset()) == analyze_query(query)


def test_a_query_without_letters_is_analysed_as_without_restriction() -> None:
    assert query_languages("1889", present={"nl"}) == query_languages("1889")
    assert analyze_query("1889", present={"nl"}) == ["1889"]


def test_present_languages_are_those_of_live_chunks_unless_some_are_unknown() -> None:
    assert present_languages({"nl": 12, "en": 3}) == frozenset({"nl", "en"})
    assert present_languages({"nl": 12, "de": 0}) == frozenset({"nl"})
    # a chunk of unknown language (indexed before languages were stored): no restriction until `ragd reindex`
    assert present_languages({"nl": 12, "": 1}) is None
    assert present_languages({}) is None  # an empty store
