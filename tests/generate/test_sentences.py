from ragd.generate.sentences import split_sentences


def _split(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_sentences_and_offsets() -> None:
    text = "First one. Second one! Third? «Quatrième phrase.» Fin"
    assert _split(text) == ["First one.", "Second one!", "Third?", "«Quatrième phrase.»", "Fin"]


def test_abbreviations_do_not_split() -> None:
    assert _split("See e.g. Dr. Smith for details. Then go.") == [
        "See e.g. Dr. Smith for details.",
        "Then go.",
    ]


def test_table_rows_are_units() -> None:
    text = "| a | b |\n|---|---|\n| 1 | 2 |"
    assert _split(text) == ["| a | b |", "|---|---|", "| 1 | 2 |"]
