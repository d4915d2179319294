"""Language identification (ragd.retrieve.language): the packaged py3langid model, offline."""

from __future__ import annotations

import pytest
import Stemmer

from ragd.retrieve.language import SNOWBALL, UNDETERMINED, Detection, candidates, detect

SENTENCES = {
    "en": "The council met on Tuesday to vote on the budget of the town.",
    "fr": "Le conseil municipal s'est réuni mardi pour voter le budget de la commune.",
    "de": "Der Gemeinderat hat sich am Dienstag getroffen, um über den Haushalt abzustimmen.",
    "es": "El ayuntamiento se reunió el martes para votar el presupuesto del municipio.",
    "it": "Il consiglio comunale si è riunito martedì per votare il bilancio del comune.",
    "nl": "De gemeenteraad kwam dinsdag bijeen om over de begroting van de gemeente te stemmen.",
    "pt": "A câmara municipal reuniu-se na terça-feira para votar o orçamento do município.",
    "sv": "Kommunfullmäktige sammanträdde på tisdagen för att rösta om kommunens budget.",
    "pl": "Rada miejska zebrała się we wtorek, aby głosować nad budżetem gminy.",
    "ru": "Городской совет собрался во вторник, чтобы проголосовать за бюджет города.",
}


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_detects_the_language_of_a_sentence(code: str) -> None:
    found = detect(SENTENCES[code])
    assert found.code == code
    assert 0.5 <= found.confidence <= 1.0


def test_short_questions() -> None:
    assert detect("Où est né Victor Hugo ?").code == "fr"
    assert detect("what is the boundary layer").code == "en"
    assert detect("Wie funktioniert das?").code == "de"
    assert detect("¿Dónde está la biblioteca?").code == "es"


def test_text_without_language_is_undetermined() -> None:
    assert detect("") == Detection(UNDETERMINED, 0.0)
    assert detect("1234 5678 -- 42") == Detection(UNDETERMINED, 0.0)
    assert candidates("  ") == []
    assert detect("FFT") == Detection(UNDETERMINED, 0.0)  # an acronym says nothing about its language
    assert 0.0 < candidates("FFT")[0].confidence < 0.5  # the guesses are still there


def test_candidates_are_ranked_and_bounded() -> None:
    found = candidates("Qual è la capitale", 3)
    assert len(found) == 3
    assert found[0].code == "it"
    assert [c.confidence for c in found] == sorted((c.confidence for c in found), reverse=True)
    assert all(len(c.code) == 2 for c in candidates("Wie funktioniert das?", 20))


def test_snowball_covers_every_stemmer_pystemmer_has() -> None:
    variants = {"porter", "dutch_porter"}  # older English and Dutch algorithms, same languages
    assert set(SNOWBALL.values()) == set(Stemmer.algorithms()) - variants
    assert SNOWBALL["de"] == "german" and SNOWBALL["es"] == "spanish" and SNOWBALL["it"] == "italian"
    assert all(len(code) == 2 for code in SNOWBALL)


def test_norwegian_variants_map_to_the_one_stemmer() -> None:
    found = detect("Kommunestyret møttes tirsdag for å stemme over budsjettet til kommunen.")
    assert found.code == "no"


DUTCH_QUERY = "ontleed Debian changelog-bestanden"


def test_detection_among_present_languages_renormalises_over_them() -> None:
    # over every language the detector leans to English, not surely; among the collection's Dutch alone it is Dutch
    assert detect(DUTCH_QUERY).code != "nl"
    assert detect(DUTCH_QUERY, among={"nl"}) == Detection("nl", pytest.approx(1.0))
    whole = {c.code: c.confidence for c in candidates(DUTCH_QUERY, 50)}
    both = candidates(DUTCH_QUERY, 5, among={"en", "nl"})
    assert sorted(c.code for c in both) == ["en", "nl"]
    assert [c.confidence for c in both] == sorted((c.confidence for c in both), reverse=True)
    for c in both:  # the detector's own probabilities, over the two languages' total
        assert c.confidence == pytest.approx(whole[c.code] / (whole["en"] + whole["nl"]))


def test_detection_among_languages_keeps_the_confidence_rule() -> None:
    sentence = SENTENCES["fr"]
    assert detect(sentence, among={"en", "fr"}).code == "fr"
    # three look-alike languages with no clear winner among them: still undetermined, their guesses kept
    guesses = candidates("FFT", 3, among={"de", "sv", "da"})
    assert detect("FFT", among={"de", "sv", "da"}) == Detection(UNDETERMINED, 0.0)
    assert [c.code for c in guesses] == [c.code for c in candidates("FFT", 50) if c.code in {"de", "sv", "da"}]


def test_no_or_empty_restriction_is_the_unrestricted_detection() -> None:
    for text in (DUTCH_QUERY, SENTENCES["de"], "FFT", "1234"):
        assert detect(text, among=None) == detect(text, among=set()) == detect(text)
        assert candidates(text, 3, among=set()) == candidates(text, 3)
    assert candidates("1234", 3, among={"en"}) == []  # no letters, no language
