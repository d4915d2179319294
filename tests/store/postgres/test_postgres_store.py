"""The PostgreSQL adapter: the shared conformance suites, plus what only several processes on one database show
(replicas are backends on the same URL: each its own pool and connections), and BM25 scores equal to SQLite's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragd.errors import ValidationFailed
from ragd.models import SearchFilters
from ragd.store.backend import Backend, open_backend
from ragd.store.base import Store
from ragd.store.sqlite import SqliteStore
from ragd.testing.store_conformance import (
    CORPUS,
    StoreConformance,
    add_indexed,
    index_chunks,
    make_doc,
    seqs_of,
)
from ragd.testing.store_conformance_batch import BatchConformance
from ragd.testing.store_conformance_jobs import JobQueueConformance
from ragd.testing.store_conformance_lexical import QUERIES, LexicalFeedConformance
from ragd.testing.store_conformance_uploads import UploadConformance


@pytest.fixture
def backend(pg_url: str) -> Iterator[Backend]:
    backend = open_backend(pg_url)
    yield backend
    backend.close()


class TestPostgresStore(StoreConformance, JobQueueConformance, BatchConformance, LexicalFeedConformance,
                        UploadConformance):
    @pytest.fixture
    def store(self, backend: Backend) -> Store:
        return backend.store


def _pair(pg_url: str) -> tuple[Backend, Backend]:
    """Two replicas of one database: two backends, as two processes would open them (the pool registry is per
    process and keyed by URL, so the second gets its own pool through a URL that differs only in a no-op
    parameter)."""
    first = open_backend(pg_url)
    second = open_backend(f"{pg_url}&application_name=replica2")
    return first, second


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)


def test_replicas_submitting_the_same_bytes_get_one_document(pg_url: str) -> None:
    replicas = _pair(pg_url)
    try:
        stores = [r.store for r in replicas]
        barrier = threading.Barrier(6)
        results: list[tuple[str, bool]] = []
        errors: list[BaseException] = []

        def submit(i: int) -> None:
            try:
                barrier.wait(30)
                for round_ in range(5):
                    [(doc, dup)] = stores[i % 2].submit_documents(
                        [make_doc(f"r{round_}-{i}", content=f"bytes {round_}", filename=f"f{round_}.txt")])
                    results.append((doc.id, dup))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        _run([threading.Thread(target=submit, args=(i,)) for i in range(6)])
        assert not errors
        docs, total = stores[0].list_documents(limit=100)
        assert total == 5 and {d.content_hash for d in docs} == {make_doc("x", content=f"bytes {r}").content_hash
                                                                 for r in range(5)}
        assert sum(not dup for _, dup in results) == 5 and {i for i, _ in results} == {d.id for d in docs}
        assert stores[1].queue_depth() == 5
    finally:
        for r in replicas:
            r.close()


def test_a_follower_never_skips_a_change_under_concurrent_commits(pg_url: str) -> None:
    """Writers on two replicas commit and delete chunks while a follower on a third connection reads the change
    log after its watermark, as a derived index does: at the end it holds exactly the live chunks."""
    replicas = _pair(pg_url)
    follower = open_backend(f"{pg_url}&application_name=follower").store
    try:
        stores = [r.store for r in replicas]
        done = threading.Event()
        errors: list[BaseException] = []
        live: set[int] = set()
        watermark = 0

        def follow_once() -> None:
            nonlocal watermark
            while rows := follower.lexical_changes_since(watermark, 50):
                for change_id, seq, op, _ in rows:
                    assert change_id > watermark
                    watermark = change_id
                    (live.add if op == "add" else live.discard)(seq)

        def follower_loop() -> None:
            try:
                while not done.is_set():
                    follow_once()
            except BaseException as exc:
                errors.append(exc)

        def writer(w: int) -> None:
            try:
                for i in range(12):
                    doc = f"w{w}-{i}"
                    add_indexed(stores[w % 2], doc, [f"writer {w} chunk {i}", "more words", "and more"])
                    if i % 3 == 0:
                        index_chunks(stores[(w + 1) % 2], doc, [f"rewritten {w} {i}"])  # replaces its chunks
                    if i % 4 == 1:
                        stores[w % 2].delete_document(doc)
            except BaseException as exc:
                errors.append(exc)

        reader = threading.Thread(target=follower_loop)
        reader.start()
        _run([threading.Thread(target=writer, args=(w,)) for w in range(4)])
        done.set()
        reader.join(60)
        follow_once()  # what committed after the loop's last read
        assert not errors
        expected = set(stores[0].allowed_seqs(SearchFilters()).tolist())
        assert len(expected) > 0 and live == expected
    finally:
        follower.close()
        for r in replicas:
            r.close()


def test_bm25_scores_equal_sqlite(pg_url: str, tmp_path: Path) -> None:
    """The same corpus in both engines: same ids, same order and scores (FTS5's bm25() on SQLite)."""
    backend = open_backend(pg_url)
    sqlite = SqliteStore(tmp_path / "x.sqlite3")
    sqlite.migrate()
    try:
        for store in (backend.store, sqlite):
            for doc_id, (texts, fields) in CORPUS.items():
                add_indexed(store, doc_id, texts, **fields)
            add_indexed(store, "extra", ["apple kiwi kiwi", "date date date fig", "the quick brown fox"])
        fruit = SearchFilters(collections=["fruit"], metadata={"lang": ["en", "fr"]})
        for terms in [*QUERIES, ["fox", "quick", "date"]]:
            for filters in (None, fruit):
                pg_hits = backend.store.search_lexical(terms, filters, 5)
                lite_hits = sqlite.search_lexical(terms, filters, 5)
                pg_ids = [backend.store.get_chunks([s])[0].id for s, _ in pg_hits]
                assert pg_ids == [sqlite.get_chunks([s])[0].id for s, _ in lite_hits]
                assert [v for _, v in pg_hits] == pytest.approx([v for _, v in lite_hits], rel=1e-6)
    finally:
        sqlite.close()
        backend.close()


def test_lexical_statistics_follow_deletes(backend: Backend) -> None:
    store = backend.store
    add_indexed(store, "a", ["one two", ""])
    add_indexed(store, "b", ["three"])
    conn = store._db.conn()  # type: ignore[attr-defined]
    assert conn.execute("SELECT docs, tokens FROM lexical_stats").fetchone() == (3, 3)
    store.delete_document("a")
    assert conn.execute("SELECT docs, tokens FROM lexical_stats").fetchone() == (1, 1)
    assert conn.execute("SELECT term FROM lexical_terms").fetchall() == [("three",)]
    assert seqs_of(store, "b") == [s for s, _ in store.search_lexical(["three"], None, 5)]


def test_metadata_postgresql_cannot_read_is_refused(backend: Backend) -> None:
    for bad in ({"n": float("nan")}, {"s": "a\x00b"}, {"k\ud800": 1}):
        with pytest.raises(ValidationFailed):
            backend.store.add_document(make_doc("d", metadata=bad))
    assert backend.store.list_documents()[1] == 0


def test_a_change_id_handed_out_first_is_never_committed_after_a_later_one(pg_url: str) -> None:
    """Replica A commits chunks in a transaction it holds open; replica B's commit must wait for it (else B's
    larger change ids would be read first, and a follower's watermark would pass A's rows before they commit)."""
    replicas = _pair(pg_url)
    follower = open_backend(f"{pg_url}&application_name=follower").store
    try:
        a, b = (r.store for r in replicas)
        for store, doc in ((a, "held"), (b, "quick")):
            store.add_document(make_doc(doc), enqueue=False)
        started, release = threading.Event(), threading.Event()

        def commit_held() -> None:
            with replicas[0].unit_of_work():
                index_chunks(a, "held", ["held chunk"])
                started.set()
                release.wait(60)

        holder = threading.Thread(target=commit_held)
        holder.start()
        assert started.wait(60)
        quick = threading.Thread(target=index_chunks, args=(b, "quick", ["quick chunk"]))
        quick.start()
        conn = follower._db.conn()  # type: ignore[attr-defined]
        deadline = threading.Event()
        for _ in range(600):  # until B waits for a lock (or, were none taken, has committed)
            waiting = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if not quick.is_alive() or waiting.fetchone()[0] > 0:
                break
            deadline.wait(0.05)
        first = follower.lexical_changes_since(0)  # a follower's read while A is open and B committing
        watermark = max((c[0] for c in first), default=0)
        release.set()
        holder.join(60)
        quick.join(60)
        seen = {seq for _, seq, op, _ in first + follower.lexical_changes_since(watermark) if op == "add"}
        assert seen == set(seqs_of(a, "held") + seqs_of(a, "quick"))
    finally:
        follower.close()
        for r in replicas:
            r.close()
