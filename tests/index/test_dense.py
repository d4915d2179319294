"""The derived dense index: exact search, catching up from the store's change log, persistence."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from ragd.errors import ModelMismatch
from ragd.index.dense import DenseIndex
from ragd.models import SearchFilters
from ragd.store.base import Store
from ragd.testing.store_conformance import DIM, MODEL, add_indexed, index_chunks, seqs_of


@pytest.fixture
def store(run_store: Store) -> Store:
    return run_store


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_force(seqs: np.ndarray, vectors: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    scores = vectors @ (q / np.linalg.norm(q))
    return [int(seqs[i]) for i in np.argsort(-scores, kind="stable")[:k]]


def contents(index: DenseIndex) -> dict[int, np.ndarray]:
    return index.vectors(int(s) for s in index.seqs())


def assert_same(a: DenseIndex, b: DenseIndex) -> None:
    left, right = contents(a), contents(b)
    assert sorted(left) == sorted(right)
    for seq, vector in left.items():
        np.testing.assert_allclose(vector, right[seq], rtol=1e-6)


def churn(store: Store) -> None:
    """Adds, a re-chunking, a replacement and deletes."""
    add_indexed(store, "d1", [f"one {i}" for i in range(5)])
    add_indexed(store, "d2", [f"two {i}" for i in range(4)])
    add_indexed(store, "d3", [f"three {i}" for i in range(3)], content="3")
    index_chunks(store, "d1", ["one rewritten", "one 0"])  # old chunks deleted, one text shared
    add_indexed(store, "d3b", ["three again"], content="3b", replaces="d3")
    store.delete_document("d2")
    add_indexed(store, "d4", [f"four {i}" for i in range(6)])


def test_sync_equals_rebuild(store: Store, tmp_path: Path) -> None:
    synced = DenseIndex(tmp_path / "a", MODEL, DIM)
    assert synced.sync(store) == 0
    add_indexed(store, "d0", ["zero"])
    assert synced.sync(store) == 1 and len(synced) == 1
    churn(store)
    applied = synced.sync(store, batch=3)  # several batches
    assert applied == store.last_change_id() - 1 and synced.watermark == store.last_change_id()
    assert synced.sync(store) == 0
    rebuilt = DenseIndex(tmp_path / "b", MODEL, DIM)
    assert rebuilt.rebuild(store) == len(rebuilt) == len(synced)
    assert rebuilt.watermark == store.last_change_id()
    assert_same(synced, rebuilt)
    live = set(store.allowed_seqs(SearchFilters()).tolist())
    assert set(synced.seqs().tolist()) == live
    q = unit_rows(1, DIM, seed=5)[0]
    assert synced.search(q, 5) == rebuilt.search(q, 5)


def test_first_sync_from_zero_matches_rebuild(store: Store, tmp_path: Path) -> None:
    churn(store)
    fresh = DenseIndex(tmp_path / "a", MODEL, DIM)
    fresh.sync(store)
    rebuilt = DenseIndex(tmp_path / "b", MODEL, DIM)
    rebuilt.rebuild(store)
    assert_same(fresh, rebuilt)


def test_other_model_sees_no_vectors(store: Store, tmp_path: Path) -> None:
    add_indexed(store, "d1", ["one", "two"])
    index = DenseIndex(tmp_path, "another-model", DIM)
    assert index.sync(store) == 2 and len(index) == 0
    assert index.rebuild(store) == 0


def test_dimension_mismatch_is_refused(store: Store, tmp_path: Path) -> None:
    add_indexed(store, "d1", ["one"])
    with pytest.raises(ModelMismatch):
        DenseIndex(tmp_path, MODEL, DIM + 1).rebuild(store)
    with pytest.raises(ModelMismatch):
        DenseIndex(tmp_path, MODEL, DIM).search(np.ones(DIM + 1), 3)


def test_exact_search_matches_brute_force(tmp_path: Path) -> None:
    vectors = unit_rows(500, 16)
    seqs = np.arange(10, 510, dtype=np.int64)
    index = DenseIndex(tmp_path, "m", 16)
    index.add(seqs[:200], vectors[:200] * 3.0)  # not unit length on the way in
    index.add(seqs[200:], vectors[200:])
    removed = np.random.default_rng(1).choice(seqs, 150, replace=False)
    index.remove([*removed.tolist(), 99_999])
    keep = ~np.isin(seqs, removed)
    for q in unit_rows(20, 16, seed=2):
        hits = index.search(q, 10)
        assert [s for s, _ in hits] == brute_force(seqs[keep], vectors[keep], q, 10)
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True) and all(-1.0001 <= s <= 1.0001 for s in scores)
    assert len(index) == 350
    assert len(index.search(unit_rows(1, 16)[0], 1000)) == 350
    assert index.search(unit_rows(1, 16)[0], 0) == []
    assert DenseIndex(tmp_path, "m", 16).search(unit_rows(1, 16)[0], 5) == []


@pytest.mark.parametrize("allowed_count", [12, 30, 2_000])  # gathers rows / masks the full product
def test_filtered_search_returns_k_when_k_are_allowed(tmp_path: Path, allowed_count: int) -> None:
    vectors = unit_rows(4_000, 16)
    seqs = np.arange(1, 4_001, dtype=np.int64)
    index = DenseIndex(tmp_path, "m", 16)
    index.add(seqs, vectors)
    q = unit_rows(1, 16, seed=3)[0]
    ranked = brute_force(seqs, vectors, q, 4_000)
    allowed = np.array(ranked[-allowed_count:], dtype=np.int64)  # the farthest vectors only
    noisy = np.concatenate([allowed, [0, 10_000, 50_000], allowed[:3]])  # unknown and repeated seqs
    hits = index.search(q, 10, noisy)
    assert len(hits) == 10 and {s for s, _ in hits} <= set(allowed.tolist())
    assert [s for s, _ in hits] == brute_force(allowed, vectors[allowed - 1], q, 10)
    assert index.search(q, 10, np.array([], dtype=np.int64)) == []
    assert len(index.search(q, 10, allowed[:4])) == 4
    mask = np.zeros(int(allowed.max()) + 1, dtype=bool)  # the same filter as a mask indexed by seq
    mask[allowed] = True
    assert index.search(q, 10, mask) == hits
    assert index.search(q, 10, np.zeros(0, dtype=bool)) == []  # seqs past the mask's end are not allowed
    assert len(index.search(q, 10, mask[: int(allowed[:4].max()) + 1])) >= 1


def test_save_load_round_trip(store: Store, tmp_path: Path) -> None:
    churn(store)
    index = DenseIndex(tmp_path / "idx", MODEL, DIM)
    index.sync(store)
    index.save()
    index.save()  # a second generation replaces the first
    assert len(list((tmp_path / "idx").glob("*.npy"))) == 2
    loaded = DenseIndex(tmp_path / "idx", MODEL, DIM)
    assert loaded.load() is True
    assert loaded.watermark == index.watermark and len(loaded) == len(index)
    assert_same(index, loaded)
    q = unit_rows(1, DIM, seed=9)[0]
    assert loaded.search(q, 4) == index.search(q, 4)
    add_indexed(store, "late", ["after the save"])  # catches up from the saved watermark
    assert loaded.sync(store) == 1
    assert set(loaded.seqs().tolist()) == set(store.allowed_seqs(SearchFilters()).tolist())
    assert set(seqs_of(store, "late")) <= set(loaded.seqs().tolist())


def test_load_refuses_missing_corrupt_or_foreign_files(store: Store, tmp_path: Path) -> None:
    directory = tmp_path / "idx"
    assert DenseIndex(directory, MODEL, DIM).load() is False  # nothing saved yet
    add_indexed(store, "d1", ["one", "two", "three"])
    index = DenseIndex(directory, MODEL, DIM)
    index.sync(store)
    index.save()
    assert DenseIndex(directory, "other-model", DIM).load() is False
    assert DenseIndex(directory, MODEL, DIM * 2).load() is False
    vectors_file = next(directory.glob("*.vectors.npy"))
    data = bytearray(vectors_file.read_bytes())
    data[-1] ^= 0xFF
    vectors_file.write_bytes(bytes(data))
    assert DenseIndex(directory, MODEL, DIM).load() is False  # checksum mismatch
    vectors_file.unlink()
    target = DenseIndex(directory, MODEL, DIM)
    assert target.load() is False and len(target) == 0
    (directory / "dense.json").write_text("{not json")
    assert DenseIndex(directory, MODEL, DIM).load() is False
    assert target.rebuild(store) == 3  # what a caller does after load() is False


def test_a_saved_index_belongs_to_one_store(store: Store, tmp_path: Path) -> None:
    directory = tmp_path / "idx"
    add_indexed(store, "d1", ["one", "two"])
    index = DenseIndex(directory, MODEL, DIM, store_id="store-a")
    index.sync(store)
    index.save()
    assert DenseIndex(directory, MODEL, DIM, store_id="store-a").load() is True
    assert DenseIndex(directory, MODEL, DIM, store_id="store-b").load() is False  # another database
    assert DenseIndex(directory, MODEL, DIM).load() is False  # saved for a store, opened for none


def test_searches_run_while_syncing(store: Store, tmp_path: Path) -> None:
    index = DenseIndex(tmp_path, MODEL, DIM)
    stop = threading.Event()
    errors: list[BaseException] = []
    q = unit_rows(1, DIM)[0]

    def searcher() -> None:
        try:
            while not stop.is_set():
                hits = index.search(q, 5)
                assert len({s for s, _ in hits}) == len(hits)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        for round_ in range(15):
            add_indexed(store, f"d{round_}", [f"text {round_} {i}" for i in range(20)])
            if round_ % 3 == 2:
                store.delete_document(f"d{round_ - 1}")
            index.sync(store)
    finally:
        stop.set()
        thread.join(10)
    assert not errors
    assert set(index.seqs().tolist()) == set(store.allowed_seqs(SearchFilters()).tolist())
