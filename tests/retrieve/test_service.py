"""Hybrid fusion wired into a real instance (the run's store and its full-text search, the packaged embedding
model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.backend import store_url_for

from ragd.config import RetrievalSettings, Settings
from ragd.core import Ragd
from ragd.models import SearchFilters
from ragd.retrieve.analysis import analyze_query
from ragd.retrieve.language import detect

DOCS = {
    "tides.md": "# Tides\n\nOcean tides rise and fall twice a day, pulled by the gravity of the moon and the sun.",
    "bread.md": "# Bread\n\nSourdough bread rises slowly: wild yeast ferments the dough overnight before baking.",
    "engines.md": "# Engines\n\nA jet engine compresses air, burns fuel in it and pushes the hot gas out of a nozzle.",
    "marees.md": "# Marées\n\nLa marée monte et descend deux fois par jour, tirée par la lune et le soleil.",
    "moon.md": "# Moon\n\nThe moon orbits the earth every twenty-seven days; its gravity pulls the oceans.",
}


@pytest.fixture(scope="module")
def ragd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ragd]:
    data: Path = tmp_path_factory.mktemp("data")
    # module-scoped, so outside any one test's store: the store bound to its data directory (tests/backend.py)
    r = Ragd(Settings(data_dir=data, store={"url": store_url_for(data)}, ingest={"workers": 0}))
    for name, text in DOCS.items():
        r.submit(text.encode(), name, mime="text/markdown")
    r.workers.drain()
    r.build_lexical_index()  # as the server does at start
    try:
        yield r
    finally:
        r.close()


def files(r: Ragd, query: str, mode: str = "hybrid", **settings: object) -> list[str]:
    r.retriever._settings = RetrievalSettings(**settings)  # type: ignore[arg-type]
    return [h.chunk.filename for h in r.retriever.search(query, top_k=5, mode=mode).hits]  # type: ignore[arg-type]


@pytest.mark.parametrize("fusion", ["rrf", "minmax", "zscore"])
def test_every_fusion_finds_the_passage_both_retrievers_agree_on(ragd: Ragd, fusion: str) -> None:
    hits = files(ragd, "why do ocean tides rise twice a day", fusion=fusion)
    assert hits[0] == "tides.md"
    assert sorted(hits) == sorted(DOCS)  # the union of both rankings, each chunk once


@pytest.mark.parametrize("fusion", ["rrf", "minmax", "zscore"])
def test_dense_weight_zero_keeps_the_bm25_order(ragd: Ragd, fusion: str) -> None:
    query = "gravity of the moon"
    bm25 = files(ragd, query, mode="bm25")
    hybrid = files(ragd, query, fusion=fusion, dense_weight=0.0)
    assert hybrid[: len(bm25)] == bm25


def test_minmax_scores_are_the_weighted_sum(ragd: Ragd) -> None:
    ragd.retriever._settings = RetrievalSettings(fusion="minmax", bm25_weight=1.0, dense_weight=2.0)
    hits = ragd.retriever.search("sourdough bread yeast dough", top_k=5, mode="hybrid").hits
    assert hits[0].chunk.filename == "bread.md"
    assert hits[0].bm25_rank == 1 and hits[0].dense_rank == 1
    assert hits[0].score == pytest.approx(3.0)  # best of both: 1·1 + 2·1
    assert all(0.0 <= h.score <= 3.0 for h in hits)


def test_dense_feedback_runs_a_second_pass_within_the_filter(ragd: Ragd) -> None:
    ragd.retriever._settings = RetrievalSettings(fusion="minmax", feedback_passages=2, feedback_weight=1.0)
    res = ragd.retriever.search("why do ocean tides rise twice a day", top_k=5, mode="hybrid")
    assert "feedback" in res.timings_ms
    assert res.hits[0].chunk.filename == "tides.md"
    assert sorted(h.chunk.filename for h in res.hits) == sorted(DOCS)
    moon = next(h.chunk.document_id for h in res.hits if h.chunk.filename == "moon.md")
    tides = next(h.chunk.document_id for h in res.hits if h.chunk.filename == "tides.md")
    only = SearchFilters(document_ids=[moon, tides])
    filtered = ragd.retriever.search("why do ocean tides rise twice a day", top_k=5, mode="hybrid", filters=only)
    assert "feedback" in filtered.timings_ms
    assert {h.chunk.filename for h in filtered.hits} == {"moon.md", "tides.md"}
    # no feedback where the dense ranking has no weight, or in single modes
    ragd.retriever._settings = RetrievalSettings(feedback_passages=2, dense_weight=0.0)
    french = ragd.retriever.search("pourquoi la marée monte deux fois par jour", top_k=5, mode="hybrid")
    assert "feedback" not in french.timings_ms
    assert "feedback" not in ragd.retriever.search("ocean tides", top_k=5, mode="dense").timings_ms


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_the_in_memory_bm25_index_answers_as_the_store_does(ragd: Ragd, mode: str) -> None:
    ragd.retriever._settings = RetrievalSettings()
    assert ragd.lexical is not None and ragd.lexical.built  # the default: lexical_index = memory
    questions = ["why do ocean tides rise twice a day", "pourquoi la marée monte", "jet engine fuel nozzle"]
    moon = next(d.id for d in ragd.store.list_documents()[0] if d.filename == "moon.md")
    for filters in (None, SearchFilters(document_ids=[moon]), SearchFilters(mimes=["text/markdown"])):
        for question in questions:
            memory = ragd.retriever.search(question, top_k=5, mode=mode, filters=filters)  # type: ignore[arg-type]
            ragd.retriever._lexical = None  # RAGD_RETRIEVAL__LEXICAL_INDEX=store: FTS5
            try:
                store = ragd.retriever.search(question, top_k=5, mode=mode, filters=filters)  # type: ignore[arg-type]
            finally:
                ragd.retriever._lexical = ragd.lexical
            assert [(h.chunk.id, h.bm25_rank) for h in memory.hits] == [(h.chunk.id, h.bm25_rank) for h in store.hits]
            assert [h.score for h in memory.hits] == pytest.approx([h.score for h in store.hits], rel=1e-9)


def test_a_new_document_is_searchable_at_once_and_a_deleted_one_is_gone(tmp_path: Path) -> None:
    """Before the in-memory index is built the store answers; after, the index follows every change at once."""
    r = Ragd(Settings(data_dir=tmp_path, ingest={"workers": 0}))
    try:
        r.submit(b"Glaciers carve valleys over thousands of years.", "ice.txt")
        r.workers.drain()
        assert [h.chunk.filename for h in r.retriever.search("glaciers", mode="bm25").hits] == ["ice.txt"]
        assert r.lexical is not None and not r.lexical.built  # the store's FTS5 answered
        r.build_lexical_index()
        assert r.lexical.built
        assert [h.chunk.filename for h in r.retriever.search("glaciers", mode="bm25").hits] == ["ice.txt"]
        doc, _created = r.submit(b"Volcanoes erupt molten rock called lava.", "fire.txt")
        r.workers.drain()
        assert [h.chunk.filename for h in r.retriever.search("volcanoes lava", mode="bm25").hits] == ["fire.txt"]
        assert r.store.delete_document(doc.id)
        assert r.retriever.search("volcanoes lava", mode="bm25").hits == []
    finally:
        r.close()


def test_a_keyword_query_takes_the_language_of_the_passages_it_matched(ragd: Ragd) -> None:
    r = ragd.retriever
    version = ragd.store.last_change_id()
    for query, code in (("ocean tides gravity", "en"), ("lune soleil", "fr")):
        assert detect(query).confidence == 0  # no stop word, no telling letter
        lexical = r._search_lexical(analyze_query(query), None, 10, version)
        assert r._query_language(query, lexical).code == code
