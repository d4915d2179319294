"""Dense search inside PostgreSQL (:class:`ragd.store.postgres.dense.PgVectorSearch`): the ``chunk_vectors`` table
its trigger keeps, exact mode congruent with the in-memory :class:`DenseIndex` over a SQLite store under random
access filters, and filtered HNSW searches that return ``k`` results when ``k`` chunks pass."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ragd.errors import ConfigurationError, InvalidFilter, ModelMismatch
from ragd.index.dense import DenseIndex
from ragd.models import SearchFilters
from ragd.store.backend import Backend, open_backend
from ragd.store.postgres.connection import Database
from ragd.store.postgres.dense import PgVectorSearch
from ragd.testing.dense_corpus import CorpusDoc, delete_postgres, insert_postgres, insert_store

MODEL, DIM = "test-model", 24
TENANTS = ["acme", "globex"]
COLLECTIONS = ["a", "b", "c", "d"]
MIMES = ["text/plain", "application/pdf"]
SCALARS = ["red", "blue", 2020, 2021.0, "2020", True, False, 1]


def random_corpus(rng: np.random.Generator, n: int, dim: int = DIM) -> list[CorpusDoc]:
    docs = []
    for i in range(n):
        metadata = {} if i % 5 == 0 else {
            "team": str(rng.choice(["red", "blue"])), "year": int(rng.choice([2020, 2021, 2022])),
            "draft": bool(rng.integers(2))}
        docs.append(CorpusDoc(
            f"doc{i}", rng.standard_normal((int(rng.integers(1, 7)), dim)).astype(np.float32),
            collection=str(rng.choice(COLLECTIONS)), tenant_id=str(rng.choice(TENANTS)),
            mime=str(rng.choice(MIMES)), metadata=metadata))
    return docs


@dataclass
class Engines:
    memory: DenseIndex
    sqlite: Backend
    exact: PgVectorSearch
    hnsw: PgVectorSearch
    sqlite_ids: dict[int, str]
    pg_ids: dict[int, str]
    doc_ids: list[str]


@pytest.fixture(scope="module")
def engines(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    """One corpus in a SQLite store (+ the in-memory index) and in PostgreSQL: half of it stored before the dense
    table is enabled (filled by the build), half after (filled by the trigger), one document deleted from both."""
    from tests import pg

    docs = random_corpus(np.random.default_rng(7), 70)
    gone = docs[3].id
    tmp = tmp_path_factory.mktemp("congruence")
    sqlite = open_backend(str(tmp / "reference.sqlite3"))  # the in-memory side of the comparison, on purpose
    sqlite_seqs = insert_store(sqlite.store, docs, MODEL)
    sqlite.store.delete_document(gone)
    memory = DenseIndex(tmp / "index", MODEL, DIM)
    memory.sync(sqlite.store)
    with pg.fresh_schema() as url:
        backend = open_backend(url)
        pg_seqs = insert_postgres(url, docs[:35], MODEL)
        exact = PgVectorSearch(url, MODEL, DIM, exact=True)
        hnsw = PgVectorSearch(url, MODEL, DIM, ef_search=10)
        assert exact.ensure_dense_index()
        pg_seqs.update(insert_postgres(url, docs[35:], MODEL))
        delete_postgres(url, gone)
        try:
            yield Engines(memory, sqlite, exact, hnsw, {s: c for c, s in sqlite_seqs.items()},
                          {s: c for c, s in pg_seqs.items()}, [d.id for d in docs])
        finally:
            exact.close()
            hnsw.close()
            backend.close()
            sqlite.close()


values = st.sampled_from(SCALARS) | st.lists(st.sampled_from(SCALARS), min_size=1, max_size=3)
filters_strategy = st.builds(
    SearchFilters,
    tenant_id=st.none() | st.sampled_from([*TENANTS, "nobody"]),
    readable=st.none() | st.lists(st.sampled_from(COLLECTIONS), max_size=3, unique=True),
    collections=st.none() | st.lists(st.sampled_from([*COLLECTIONS, "zzz"]), max_size=3, unique=True),
    document_ids=st.none() | st.lists(st.sampled_from([f"doc{i}" for i in range(70)]), min_size=1, max_size=12,
                                      unique=True),
    mimes=st.none() | st.lists(st.sampled_from(MIMES), min_size=1, max_size=2, unique=True),
    metadata=st.none() | st.dictionaries(st.sampled_from(["team", "year", "draft", "missing"]), values, max_size=2),
)


def memory_search(e: Engines, q: np.ndarray, k: int, filters: SearchFilters) -> list[tuple[str, float]]:
    mask = None
    if not filters.is_empty():
        seqs = e.sqlite.store.allowed_seqs(filters)
        mask = np.zeros(int(seqs.max()) + 1 if len(seqs) else 0, dtype=bool)
        mask[seqs] = True
    return [(e.sqlite_ids[s], score) for s, score in e.memory.search(q, k, mask)]


@settings(max_examples=80, deadline=None)
@given(filters=filters_strategy, seed=st.integers(0, 2**32 - 1), k=st.integers(1, 40))
def test_exact_mode_gives_the_in_memory_indexs_ids_and_scores(
    engines: Engines, filters: SearchFilters, seed: int, k: int
) -> None:
    q = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    want = memory_search(engines, q, k, filters)
    got = [(engines.pg_ids[s], score) for s, score in engines.exact.search(q, k, filters)]
    assert len(got) == len(want)
    event("no result" if not want else "fewer than k" if len(want) < k else "k results")
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
    for (got_id, got_score), (want_id, want_score) in zip(got, want, strict=True):
        # the same chunk, or two chunks whose scores tie to float32 rounding (either order is right)
        assert got_id == want_id or abs(got_score - want_score) <= 1e-5
    everything = dict(memory_search(engines, q, 10_000, filters))  # every chunk the filter lets through
    assert all(abs(everything[cid] - score) <= 1e-5 for cid, score in got)

    # HNSW: only chunks the filter lets through, and k of them whenever k pass
    approx = [engines.pg_ids[s] for s, _ in engines.hnsw.search(q, k, filters)]
    assert set(approx) <= set(everything)
    assert len(approx) == min(k, len(everything))


def fresh(pg_url: str, **kw: object) -> tuple[Backend, PgVectorSearch]:
    return open_backend(pg_url), PgVectorSearch(pg_url, MODEL, DIM, **kw)  # type: ignore[arg-type]


def rows(pg_url: str, sql: str) -> list[tuple[object, ...]]:
    db = Database(pg_url)
    try:
        return db.conn().execute(sql).fetchall()
    finally:
        db.close()


def test_the_trigger_copies_committed_chunks_and_deleted_ones_go(pg_url: str) -> None:
    backend, search = fresh(pg_url, exact=True)
    rng = np.random.default_rng(1)
    try:
        before = insert_postgres(pg_url, random_corpus(rng, 3), MODEL)
        assert rows(pg_url, "SELECT count(*) FROM chunk_vectors") == [(0,)]  # off until enabled: nothing copied
        assert search.ensure_dense_index()
        assert not search.ensure_dense_index()  # a second start does nothing
        assert len(search) == len(before)  # the build filled it from the stored chunks
        docs = [CorpusDoc(f"new{i}", rng.standard_normal((2, DIM)).astype(np.float32), collection="x",
                          tenant_id="t") for i in range(3)]
        after = insert_postgres(pg_url, docs, MODEL)
        assert len(search) == len(before) + len(after)
        assert search.watermark == rows(pg_url, "SELECT max(change_id) FROM changes")[0][0]
        assert rows(pg_url, f"SELECT DISTINCT tenant_id, collection, document_id FROM chunk_vectors "
                            f"WHERE seq = {after['new1:0']}") == [("t", "x", "new1")]
        # stored unit-length; the search of a stored vector finds it first with cosine 1
        vec = search.vectors([after["new1:0"]])[after["new1:0"]]
        assert abs(float(np.linalg.norm(vec)) - 1) < 1e-6
        np.testing.assert_allclose(vec, docs[1].vectors[0] / np.linalg.norm(docs[1].vectors[0]), atol=1e-6)
        assert search.search(docs[1].vectors[0] * 3, 1)[0] == (after["new1:0"], pytest.approx(1.0, abs=1e-5))
        delete_postgres(pg_url, "new1")
        assert len(search) == len(before) + len(after) - 2
        assert after["new1:0"] not in {s for s, _ in search.search(docs[1].vectors[0], 50)}
    finally:
        search.close()
        backend.close()


def test_only_the_indexed_models_vectors_are_copied_and_a_model_change_refills(pg_url: str) -> None:
    backend, search = fresh(pg_url)
    rng = np.random.default_rng(2)
    try:
        search.ensure_dense_index()
        insert_postgres(pg_url, [CorpusDoc("mine", rng.standard_normal((2, DIM)).astype(np.float32))], MODEL)
        other = [CorpusDoc("other", rng.standard_normal((3, 8)).astype(np.float32))]
        other_seqs = insert_postgres(pg_url, other, "other-model")
        assert len(search) == 2  # the other model's chunks have no vector of this model
        switched = PgVectorSearch(pg_url, "other-model", 8)
        try:
            assert switched.ensure_dense_index()  # retyped to vector(8), refilled with the other model's vectors
            assert sorted(s for s, _ in switched.search(other[0].vectors[0], 10)) == sorted(other_seqs.values())
            assert rows(pg_url, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                                "'chunk_vectors'::regclass AND attname = 'embedding'") == [("vector(8)",)]
            # a chunk of the previous model committed now (a replica not yet restarted) is skipped, not an error
            insert_postgres(pg_url, [CorpusDoc("late", rng.standard_normal((1, DIM)).astype(np.float32))], MODEL)
            assert len(switched) == 3
            with pytest.raises(ModelMismatch):  # this process's model is no longer the database's
                search.search(np.ones(DIM), 5)
        finally:
            switched.close()
    finally:
        search.close()
        backend.close()


def test_filtered_hnsw_search_returns_k_results_by_iterative_scan(pg_url: str) -> None:
    rng = np.random.default_rng(3)
    docs = [CorpusDoc(f"d{i}", rng.standard_normal((5, 32)).astype(np.float32), collection=f"c{i % 10}")
            for i in range(1000)]
    backend = open_backend(pg_url)
    insert_postgres(pg_url, docs, MODEL)
    iterative = PgVectorSearch(pg_url, MODEL, 32, ef_search=20)
    plain = PgVectorSearch(pg_url, MODEL, 32, ef_search=20, iterative_scan="off")
    try:
        iterative.ensure_dense_index()
        one_in_ten = SearchFilters(collections=["c3"])
        in_c3 = {int(s) for s, in rows(pg_url, "SELECT seq FROM chunk_vectors WHERE collection = 'c3'")}
        for _ in range(5):
            q = rng.standard_normal(32)
            assert "chunk_vectors_hnsw" in iterative.explain(q, 20, one_in_ten)  # the HNSW index does the scan
            hits = iterative.search(q, 20, one_in_ten)
            assert len(hits) == 20
            assert {seq for seq, _ in hits} <= in_c3
            # without iterative scan the 20 candidates hold ~2 of c3: ragd then answers exactly, still 20
            assert len(plain.search(q, 20, one_in_ten)) == 20
        assert iterative.exact_fallbacks == 0
        assert plain.exact_fallbacks == 5
        # fewer than k pass: all of them
        three = SearchFilters(document_ids=["d7"], collections=["c7"])
        assert len(iterative.search(rng.standard_normal(32), 20, three)) == 5
    finally:
        iterative.close()
        plain.close()
        backend.close()


def test_bad_filters_and_dimensions_are_refused(pg_url: str) -> None:
    backend, search = fresh(pg_url)
    try:
        search.ensure_dense_index()
        with pytest.raises(InvalidFilter):
            search.search(np.ones(DIM), 5, SearchFilters(metadata={"k": {"nested": 1}}))
        too_wide = PgVectorSearch(pg_url, MODEL, 4096)
        try:
            with pytest.raises(ConfigurationError, match="at most 2000"):
                too_wide.ensure_dense_index()
        finally:
            too_wide.close()
    finally:
        search.close()
        backend.close()

