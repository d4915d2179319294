"""The SQLite adapter: the shared conformance suite plus what is specific to SQLite (files, processes)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragd.errors import ConfigurationError
from ragd.models import SearchFilters
from ragd.store.sqlite import SqliteStore
from ragd.store.sqlite.schema import MIGRATIONS
from ragd.store.sqlite.store import fts_query
from ragd.store.url import sqlite_path as path_from_url
from ragd.testing.store_conformance import StoreConformance, add_indexed, make_doc
from ragd.testing.store_conformance_batch import BatchConformance
from ragd.testing.store_conformance_jobs import JobQueueConformance, claim_one
from ragd.testing.store_conformance_lexical import LexicalFeedConformance
from ragd.testing.store_conformance_uploads import UploadConformance

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations


class TestSqliteStore(StoreConformance, JobQueueConformance, BatchConformance, LexicalFeedConformance,
                      UploadConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqliteStore]:
        store = SqliteStore(tmp_path / "ragd.sqlite3")
        store.migrate()
        yield store
        store.close()


def test_url_forms(tmp_path: Path) -> None:
    assert path_from_url("sqlite:////srv/ragd/x.sqlite3") == Path("/srv/ragd/x.sqlite3")
    assert path_from_url("sqlite:///rel/x.sqlite3") == Path("rel/x.sqlite3")
    assert path_from_url("/abs/x.sqlite3") == Path("/abs/x.sqlite3")
    for bad in ("sqlite:///:memory:", "sqlite://", "postgresql://h/db", "sqlite://host/x"):
        with pytest.raises(ConfigurationError):
            path_from_url(bad)


def test_creates_parent_directories_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "ragd.sqlite3"
    store = SqliteStore(f"sqlite:///{path}")
    store.migrate()
    store.set_meta("k", "v")
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    reopened = SqliteStore(path)
    reopened.migrate()
    assert reopened.get_meta("k") == "v"
    reopened.close()


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "x.sqlite3")
    store.migrate()
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.get_meta("k")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    store = SqliteStore(path)
    store.migrate()
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    newer = SqliteStore(path)
    with pytest.raises(ConfigurationError):
        newer.migrate()
    newer.close()


def test_fts_query_quotes_every_term() -> None:
    assert fts_query(["a", 'b"c', "a", "", "  ", "x\x00y"]) == '"a" OR "b""c" OR "a" OR "xy"'  # repeats weigh
    assert fts_query([]) == ""


def test_lexical_filters_use_indexes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "x.sqlite3")
    store.migrate()
    add_indexed(store, "d1", ["alpha beta"], collection="c", metadata={"k": "v"})
    conn = store._db.conn()
    plan = " ".join(
        r[-1]
        for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT seq FROM chunks WHERE document_id IN (SELECT value FROM json_each(?))",
            ('["d1"]',),
        )
    )
    assert "chunks_document" in plan or "INDEX" in plan.upper()
    assert store.allowed_seqs(SearchFilters(collections=["c"], metadata={"k": "v"})).tolist() == [1]
    store.close()


def _claim_all(path: str, worker: str, out: multiprocessing.Queue) -> None:
    store = SqliteStore(path)
    claimed = []
    while (job := claim_one(store, worker)) is not None:
        claimed.append(job.id)
        store.finish_job(job.id, ok=True)
    store.close()
    out.put(claimed)


def test_concurrent_claims_from_processes(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = SqliteStore(path)
    store.migrate()
    for i in range(60):
        store.add_document(make_doc(f"d{i}"))
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(str(path), f"p{i}", out)) for i in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    claimed = [job for result in results for job in result]
    assert len(claimed) == 60 and len(set(claimed)) == 60
    assert store.queue_depth() == 0
    store.close()


def test_upload_lookups_use_an_index_not_a_walk_over_the_collection(tmp_path: Path) -> None:
    """``find_document`` runs twice per uploaded file: each must be an index search on all its columns, not a walk
    over the tenant's collection (which made storing a folder quadratic)."""
    store = SqliteStore(tmp_path / "x.sqlite3")
    store.migrate()
    for i in range(20):
        store.add_document(make_doc(f"d{i}", filename=f"f{i}.txt"))
    seen: list[str] = []
    with store._db.connection() as conn:  # held by this thread: the store's statements run on it
        conn.set_trace_callback(seen.append)
        assert store.find_document("default", content_hash="nope") is None
        assert store.find_document("default", filename="f3.txt") is not None
        conn.set_trace_callback(None)
        plans = []
        for sql in seen:
            plans.append(" ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")))
    assert "content_hash=?" in plans[0], plans
    assert "filename=?" in plans[1], plans
    store.close()
