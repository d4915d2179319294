"""``retrieval.dense_index = store``: the retriever hands the access filters to a dense search that runs in
PostgreSQL (no mask of allowed seqs), and ranks exactly as with the in-memory index; SQLite refuses the setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragd.config import RetrievalSettings, Settings
from ragd.core import Ragd
from ragd.embed import create_embedder
from ragd.errors import ConfigurationError
from ragd.index.dense import DenseIndex
from ragd.models import SearchFilters
from ragd.retrieve.service import Retriever
from ragd.store.backend import open_backend
from ragd.store.postgres.dense import PgVectorSearch
from ragd.testing.dense_corpus import CorpusDoc, insert_postgres, insert_store

PASSAGES = [
    ("tides", "acme", "sea", ["Ocean tides rise and fall twice a day.", "The moon's gravity pulls the oceans."]),
    ("bread", "acme", "food", ["Sourdough bread rises slowly overnight.", "Wild yeast ferments the dough."]),
    ("engines", "acme", "tech", ["A jet engine compresses air and burns fuel.", "Hot gas leaves the nozzle."]),
    ("moon", "globex", "sea", ["The moon orbits the earth every month.", "Its gravity raises the tides."]),
    ("ovens", "globex", "food", ["A baker's oven bakes bread at high heat.", "Steam gives the crust its shine."]),
]
QUESTIONS = ["why do tides rise", "how is bread baked", "what pulls the ocean", "jet engine fuel"]
FILTERS = [
    None,
    SearchFilters(tenant_id="acme"),
    SearchFilters(tenant_id="globex", readable=["food"]),
    SearchFilters(collections=["sea"], metadata={"kind": "moon"}),
    SearchFilters(tenant_id="acme", readable=[]),
]


@pytest.mark.sqlite_only  # the refusal on the SQLite engine
def test_the_store_setting_is_refused_on_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="needs a PostgreSQL store"):
        Ragd(Settings(data_dir=tmp_path, retrieval={"dense_index": "store"}, ingest={"workers": 0}))


def test_retriever_with_the_dense_search_in_postgresql_ranks_as_in_memory(pg_url: str, tmp_path: Path) -> None:
    embedder = create_embedder(Settings().embedding)
    docs = [CorpusDoc(name, embedder.embed(texts), collection=coll, tenant_id=tenant, metadata={"kind": name})
            for name, tenant, coll, texts in PASSAGES]
    sqlite = open_backend(str(tmp_path / "reference.sqlite3"))  # the in-memory side's reference, on purpose
    backend = open_backend(pg_url)
    search = PgVectorSearch(pg_url, embedder.name, embedder.dim, exact=True)
    try:
        search.ensure_dense_index()
        # fresh databases, same order: the same seqs, so the SQLite store can serve the chunks of both
        assert insert_store(sqlite.store, docs, embedder.name) == insert_postgres(pg_url, docs, embedder.name)
        memory = DenseIndex(tmp_path / "index", embedder.name, embedder.dim)
        memory.sync(sqlite.store)
        in_memory = Retriever(sqlite.store, embedder, memory, RetrievalSettings())
        in_database = Retriever(sqlite.store, embedder, search, RetrievalSettings())
        for question in QUESTIONS:
            for filters in FILTERS:
                for mode in ("dense", "hybrid"):  # hybrid: the feedback pass searches again, same filters
                    want = in_memory.search(question, top_k=5, filters=filters, mode=mode).hits
                    got = in_database.search(question, top_k=5, filters=filters, mode=mode).hits
                    assert [h.chunk.id for h in got] == [h.chunk.id for h in want], (question, filters, mode)
                    np.testing.assert_allclose([h.score for h in got], [h.score for h in want], atol=1e-5)
                    if filters is not None and filters.tenant_id:
                        assert all(h.chunk.tenant_id == filters.tenant_id for h in got)
    finally:
        search.close()
        backend.close()
        sqlite.close()
