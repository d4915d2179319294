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
from ragd.retrieve.language import candidates, detect

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


def test_a_few_chunks_of_another_language_weigh_as_little_as_they_are_few() -> None:
    # the Dutch man pages hold 11 untranslated English chunks among 467: English is present, but the detector's
    # lean to English (0.38 against Dutch's 0.32, over all its languages) is weighed by the collection's shares
    dutch_manuals = present_languages({"nl": 456, "en": 11})
    assert query_languages(DUTCH_QUERY, present={"nl", "en"}) == ["en"]  # equally likely: English
    assert query_languages(DUTCH_QUERY, present=dutch_manuals) == ["nl"]


def test_a_french_question_stays_french_in_a_mostly_english_collection() -> None:
    mostly_english = present_languages({"en": 99, "fr": 1})
    for question in ("Quelle est la capitale de la France ?", "Où est né Victor Hugo ?", "Qui est Balaq ?"):
        assert query_languages(question, present=mostly_english) == ["fr"]
    mostly_french = present_languages({"en": 1, "fr": 99})
    assert query_languages("Where is the Louvre?", present=mostly_french) == ["en"]  # the question's evidence wins
    # the collection's prior makes French the best guess for a short question the detector alone leans English on
    # (0.64): it is stemmed in French, and in English too, so it still matches the English chunks
    assert detect("Where is Marseille?").code == "en"
    assert query_languages("Where is Marseille?", present=mostly_french) == ["fr", "en"]
    assert query_languages("Where is Marseille?", present=present_languages({"en": 50, "fr": 50})) == ["en"]


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


def test_present_languages_are_those_of_live_chunks_with_their_shares_unless_some_are_unknown() -> None:
    assert present_languages({"nl": 12, "en": 3}) == {"en": 0.2, "nl": 0.8}
    assert present_languages({"nl": 12, "de": 0}) == {"nl": 1.0}
    # a chunk of unknown language (indexed before languages were stored): no restriction until `ragd reindex`
    assert present_languages({"nl": 12, "": 1}) is None
    assert present_languages({}) is None  # an empty store
