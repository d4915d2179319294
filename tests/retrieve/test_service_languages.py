"""The retriever analyses a query in the languages of the store's chunks (issue 19), through a real instance: the
run's store backend, the packaged embedding model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.backend import store_url_for

from ragd.config import Settings
from ragd.core import Ragd
from ragd.models import SearchFilters
from ragd.retrieve.analysis import analyze_query
from ragd.retrieve.language import detect
from ragd.testing.store_conformance import drafts, make_doc

QUERY = "ontleed Debian changelog-bestanden"

DUTCH = {
    "changelog.md": "# Changelogs\n\nDit hulpmiddel ontleedt het changelog-bestand van een Debian-pakket en toont per "
    "versie de wijzigingen.",
    "pakketten.md": "# Debian\n\nElk Debian-pakket heeft een changelog. Lees de changelog van Debian met "
    "apt-listchanges voordat u Debian bijwerkt; de changelog van Debian staat in het pakket.",
    "bestanden.md": "# Bestanden\n\nDe bestanden in de map worden elke nacht naar de server gekopieerd en na dertig "
    "dagen verwijderd.",
    "netwerk.md": "# Netwerk\n\nDe router verdeelt het verkeer over twee verbindingen wanneer de eerste verbinding "
    "overbelast raakt.",
    "fietsen.md": "# Fietsen\n\nIn Nederland fietsen veel mensen dagelijks naar hun werk, ook als het regent of waait.",
}


def submit_all(r: Ragd, docs: dict[str, str], collection: str = "default") -> None:
    for name, text in docs.items():
        r.submit(text.encode(), name, mime="text/markdown", collection=collection)
    r.workers.drain()


@pytest.fixture(scope="module")
def dutch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ragd]:
    data: Path = tmp_path_factory.mktemp("data")
    # module-scoped, so outside any one test's store: the store bound to its data directory (tests/backend.py)
    r = Ragd(Settings(data_dir=data, store={"url": store_url_for(data)}, ingest={"workers": 0}))
    submit_all(r, DUTCH)
    r.build_lexical_index()  # as the server does at start
    try:
        yield r
    finally:
        r.close()


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_a_dutch_collection_finds_the_changelog_first(dutch: Ragd, mode: str) -> None:
    assert dutch.store.chunk_languages() == {"nl": len(DUTCH)}
    found = dutch.retriever.search(QUERY, top_k=5, mode=mode)  # type: ignore[arg-type]
    assert found.terms == analyze_query(QUERY, ["nl"])
    assert found.hits[0].chunk.filename == "changelog.md"


def test_analysed_over_every_language_the_query_missed(dutch: Ragd) -> None:
    """What the restriction fixes: stemmed as English, the query's words miss the Dutch stems of the changelog
    document, and the document that repeats "Debian" ranks first."""
    unrestricted = dutch.store.search_lexical(analyze_query(QUERY), None, 5)
    assert dutch.store.get_chunks([unrestricted[0][0]])[0].filename == "pakketten.md"


def test_the_dense_weight_detection_is_restricted_too(dutch: Ragd) -> None:
    present = dutch.retriever._present_languages(None, dutch.store.last_change_id())
    assert present == {"nl": 1.0}
    assert detect(QUERY).code != "nl"
    assert dutch.retriever._query_language(QUERY, [], present).code == "nl"


def test_the_present_languages_follow_the_store(tmp_path: Path) -> None:
    r = Ragd(Settings(data_dir=tmp_path, ingest={"workers": 0}))
    try:
        submit_all(r, {"changelog.md": DUTCH["changelog.md"]})
        assert r.retriever.search(QUERY, mode="bm25").terms == analyze_query(QUERY, ["nl"])
        cached = r.retriever._present[repr(None)]
        r.retriever.search(QUERY, mode="bm25")
        assert r.retriever._present[repr(None)] is cached  # the store did not change: not counted again
        submit_all(r, {"tides.md": "# Tides\n\nOcean tides rise and fall twice a day, pulled by the moon."})
        present = r.retriever._present_languages(None, r.store.last_change_id())
        assert present is not None and set(present) == {"nl", "en"} and sum(present.values()) == pytest.approx(1.0)
        assert r.retriever.search(QUERY, mode="bm25").terms == analyze_query(QUERY, present=present)
        # a chunk of unknown language (as a store indexed before languages were stored holds): no restriction
        old = r.store.add_document(make_doc("old", content="Het pakket"), enqueue=False)
        chunks = drafts(["Het pakket"])
        r.store.put_embeddings(r.embedder.name, {chunks[0].content_hash: r.embedder.embed(["Het pakket"])[0]})
        r.store.commit_chunks(old.id, chunks, ["pakket"], r.embedder.name)
        assert r.store.chunk_languages()[""] == 1
        assert r.retriever.search(QUERY, mode="bm25").terms == analyze_query(QUERY)
        assert r.retriever.search(QUERY, mode="hybrid").hits
        assert r.store.delete_document(old.id)  # its chunks re-analysed by `ragd reindex`: restricted again
        assert r.retriever.search(QUERY, mode="bm25").terms == analyze_query(QUERY, present=present)
    finally:
        r.close()


def test_a_question_is_analysed_in_the_languages_of_the_collections_it_searches(tmp_path: Path) -> None:
    """A large English collection beside a small Dutch one: over the whole store English would weigh 20 to 1; a
    search of the Dutch collection counts only its own chunks (and a search of the English one only those)."""
    r = Ragd(Settings(data_dir=tmp_path, ingest={"workers": 0}))
    try:
        submit_all(r, {"changelog.md": DUTCH["changelog.md"]}, collection="handleidingen")
        english = {f"note{i}.md": f"# Note {i}\n\nThe backup of server {i} runs every night and keeps thirty days "
                   "of copies on the second disk." for i in range(20)}
        submit_all(r, english, collection="notes")
        version = r.store.last_change_id()
        everything = r.retriever._present_languages(None, version)
        assert everything is not None and everything["en"] > everything["nl"]
        dutch_only = SearchFilters(collections=["handleidingen"])
        assert r.retriever._present_languages(dutch_only, version) == {"nl": 1.0}
        assert r.retriever._present_languages(SearchFilters(collections=["notes"]), version) == {"en": 1.0}
        found = r.retriever.search(QUERY, mode="bm25", filters=dutch_only)
        assert found.terms == analyze_query(QUERY, ["nl"])
        assert found.hits[0].chunk.filename == "changelog.md"
        assert r.store.chunk_languages(dutch_only) == {"nl": 1}
    finally:
        r.close()
