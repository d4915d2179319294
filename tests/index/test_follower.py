"""One change-feed follower for both derived indexes: the same loop catches the dense and the BM25 index up, in
batches, and the background follower of a server catches up writes made by another process without a query."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ragd.config import Settings
from ragd.core import Ragd
from ragd.index import AppliesChanges, DenseIndex, IndexFollower, LexicalIndex, catch_up
from ragd.ingest.pipeline import Upload
from ragd.models import SearchFilters
from ragd.store.backend import open_backend
from ragd.store.base import Store
from ragd.testing.store_conformance import DIM, MODEL, add_indexed


@pytest.fixture
def store(run_store: Store) -> Store:
    """The run's store (SQLite, or PostgreSQL with ``--store-backend postgresql``)."""
    return run_store


def _until(condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    tick = threading.Event()
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return True
        tick.wait(0.05)
    return condition()


def test_both_indexes_apply_changes_through_the_same_loop(store: Store, tmp_path: Path) -> None:
    dense, lexical = DenseIndex(tmp_path / "idx", MODEL, DIM), LexicalIndex()
    lexical.rebuild(store)  # built (empty): from now on it only follows the feed
    assert isinstance(dense, AppliesChanges) and isinstance(lexical, AppliesChanges)
    for i in range(5):
        add_indexed(store, f"d{i}", [f"tide table {i}", f"harbour note {i}"])
    store.delete_document("d1")
    # a batch of 3 feed rows at a time: several rounds, the same end state as one big batch
    assert catch_up(dense, store, batch=3) == catch_up(lexical, store, batch=3) == store.last_change_id()
    live = set(store.allowed_seqs(SearchFilters()).tolist())
    assert set(dense.seqs().tolist()) == live and len(lexical) == len(live) == 8
    assert dense.watermark == lexical.watermark == store.last_change_id()
    assert catch_up(dense, store) == catch_up(lexical, store) == 0  # nothing new


def test_follower_lag_and_start_mark(store: Store, tmp_path: Path) -> None:
    add_indexed(store, "d0", ["before the start"])
    dense, lexical = DenseIndex(tmp_path / "idx", MODEL, DIM), LexicalIndex()
    follower = IndexFollower(store, lambda: [dense, lexical])
    head = store.last_change_id()
    assert follower.start_change_id == head and follower.lag() == head
    assert not follower.caught_up_to_start()
    follower.catch_up()  # the BM25 index is not built yet: left to its builder
    assert dense.watermark == head and lexical.watermark == 0 and follower.lag() == head
    lexical.sync(store)  # built
    assert follower.caught_up_to_start() and follower.lag() == 0
    add_indexed(store, "d1", ["after the start"])
    assert follower.lag() == store.last_change_id() - head and follower.caught_up_to_start()
    follower.catch_up()
    assert follower.lag() == 0


def test_a_server_follows_writes_of_another_process_without_queries(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = Ragd(Settings(data_dir=data, ingest={"workers": 0}, retrieval={"follow_interval_s": 0.05}))
    other = Ragd(Settings(data_dir=data, ingest={"workers": 0}, retrieval={"follow_interval_s": 0}))
    try:
        r.start()
        assert _until(lambda: r.lexical is not None and r.lexical.built)
        other.submit_many([Upload(b"The ferry leaves at nine.", "ferry.txt")])
        other.workers.drain()  # indexed by the other instance: r learns of it only through the change feed
        assert _until(lambda: r.index_lag() == 0 and len(r.index) > 0)
        assert r.lexical is not None and len(r.lexical) == len(r.index) == r.store.count_chunks()
    finally:
        other.close()
        r.close()


def test_a_data_directory_reused_with_another_store_rebuilds_the_dense_index(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = Ragd(Settings(data_dir=data, ingest={"workers": 0}))
    try:
        r.submit_many([Upload(b"The ferry leaves at nine.", "ferry.txt")])
        r.workers.drain()
        assert len(r.index) > 0
        first_id = r.store_id
    finally:
        r.close()  # saves the index, naming this store
    second = tmp_path / "second.sqlite3"
    backend = open_backend(str(second))
    backend.close()
    r2 = Ragd(Settings(data_dir=data, ingest={"workers": 0}, store={"url": str(second)}))
    try:
        assert r2.store_id != first_id
        assert len(r2.index) == 0 and r2.index.store_id == r2.store_id  # not the other store's vectors
        assert not r2.query("ferry", answer=False, mode="dense").retrieval.hits
    finally:
        r2.close()
    r3 = Ragd(Settings(data_dir=data, ingest={"workers": 0}))  # back to the first store: rebuilt again, whole
    try:
        assert r3.store_id == first_id and len(r3.index) == r3.store.count_chunks() > 0
    finally:
        r3.close()
