"""A collection in several languages, ingested and searched for real (the run's store backend, BM25 mode): each
chunk is analysed in its own language, each question in its own, and a French question still finds the English
passage on the same subject."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.backend import store_url_for

from ragd.config import Settings
from ragd.core import Ragd

DOCS = {
    "katzen.md": "# Haustiere\n\nDie Katzen schlafen im warmen Garten des Hauses.",
    "bibliotecas.md": "# Ciudad\n\nLas bibliotecas municipales abren sus puertas los domingos por la mañana.",
    "gallerie.md": "# Arte\n\nLe gallerie della città ospitano mostre di pittori famosi.",
    "tour.md": "# Monuments\n\nLa tour Eiffel a été construite pour l'exposition universelle de 1889.",
    "tower.md": "# Landmarks\n\nThe Eiffel tower was built in Paris for the world fair of 1889.",
    "weather.md": "# Weather\n\nRain falls on the plains of Spain in spring and autumn.",
    # one document, two languages: mostly English (its document-level language), one German section
    "mixed.md": (
        "# Annual report\n\n"
        + "The town council reviewed the accounts of the year and approved the spending on roads, schools, "
        "parks and the harbour. The members thanked the staff for their work during the long winter. "
        * 3
        + "\n\n# Gemeinden\n\nDie Bibliotheken der Gemeinden bleiben an Feiertagen geschlossen und öffnen "
        "wieder am folgenden Werktag.\n"
    ),
    # a half-translated page: a Portuguese document whose second section was left in English, field names and all
    "grupo.md": (
        "# Arquivo de grupos\n\n"
        + "Este arquivo define os grupos do sistema. Cada linha descreve um grupo e os seus membros, "
        "separados por dois pontos, e o sistema lê este arquivo sempre que alguém entra. " * 3
        + "\n\n# Format\n\n"
        + "There is one entry per line, with the following format and fields, and the file is read at every "
        "login by the system tools that manage the accounts of the machine. " * 2
        + "The last field lists the usuários of the group.\n"
    ),
}


@pytest.fixture(scope="module")
def ragd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ragd]:
    data: Path = tmp_path_factory.mktemp("data")
    # small chunks: the German section of mixed.md is a chunk of its own
    settings = Settings(data_dir=data, store={"url": store_url_for(data)}, ingest={"workers": 0},
                        chunking={"max_tokens": 48, "overlap_tokens": 0})  # fmt: skip
    r = Ragd(settings)
    for name, text in DOCS.items():
        r.submit(text.encode(), name, mime="text/markdown")
    r.workers.drain()
    try:
        yield r
    finally:
        r.close()


def bm25(r: Ragd, query: str) -> list[str]:
    return [h.chunk.filename for h in r.retriever.search(query, top_k=10, mode="bm25").hits]


def test_german_question_matches_inflected_german_words(ragd: Ragd) -> None:
    assert bm25(ragd, "Wo schläft die Katze?")[:1] == ["katzen.md"]  # Katze ~ Katzen: German stemming


def test_spanish_and_italian_questions(ragd: Ragd) -> None:
    assert bm25(ragd, "¿Qué biblioteca municipal está en la ciudad?")[:1] == ["bibliotecas.md"]
    assert bm25(ragd, "Quale galleria ospita la mostra del pittore?")[:1] == ["gallerie.md"]


def test_stop_words_of_one_language_do_not_match_another(ragd: Ragd) -> None:
    # Spanish stop words ("en", "la", "de") are not indexed: the weather page only shares them with the question
    assert "weather.md" not in bm25(ragd, "¿Qué biblioteca municipal está en la ciudad?")


def test_each_chunk_in_its_own_language(ragd: Ragd) -> None:
    # "Gemeinde" (German stem gemeind) matches "Gemeinden" only if that chunk was stemmed as German, though the
    # document as a whole is English
    assert bm25(ragd, "Welche Gemeinde hat eine Bibliothek?")[:1] == ["mixed.md"]


def test_french_question_finds_french_and_english_passages(ragd: Ragd) -> None:
    hits = bm25(ragd, "Quand la tour Eiffel a-t-elle été construite ?")
    assert hits[:1] == ["tour.md"]
    assert "tower.md" in hits


def test_a_chunk_left_in_another_language_still_matches_its_documents_language(ragd: Ragd) -> None:
    # the English section of grupo.md is analysed in English and in Portuguese, its document's language: the
    # Portuguese question's stem "usuari" matches its "usuários" (English stemming alone leaves "usuario")
    hits = ragd.retriever.search("Quais usuários?", top_k=10, mode="bm25").hits
    assert hits and hits[0].chunk.filename == "grupo.md"
    assert "usuários" in hits[0].chunk.text and "Este arquivo" not in hits[0].chunk.text  # the English chunk
