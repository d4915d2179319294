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
