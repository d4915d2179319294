from __future__ import annotations

from ragd.retrieve.language import Detection, detect


def test_detects_short_questions_in_several_languages() -> None:
    assert detect("What is the boundary layer of a wing?").code == "en"
    assert detect("Où est né Victor Hugo et quelle est sa ville").code == "fr"
    assert detect("Welche Dateien werden von dem Programm gelesen und wie?").code == "de"
    assert detect("busca nombres y descripciones de páginas del manual").code == "es"


def test_no_evidence_has_zero_confidence() -> None:
    found = detect("Verzeichnisinhalte auflisten")
    assert found == Detection("en", 0.0)
    assert detect("").confidence == 0.0
    assert 0.0 < detect("the wing and the flow").confidence <= 1.0
