"""Migration 9 on a database made before it: its jobs (queued, running, done) keep working, in the
``interactive`` queue, never published and due at once; the new columns refuse an unknown queue."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ragd.store.sqlite import SqliteStore
from ragd.store.sqlite.schema import MIGRATIONS

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations

RELEASED = 8
"""Schema version of the last release before job queues (``_m008_tenant_owned_default``)."""


def old_database(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:RELEASED]:
        step(conn)
    conn.execute(f"PRAGMA user_version = {RELEASED}")
    for i, status in enumerate(("queued", "running", "done")):
        conn.execute(
            "INSERT INTO documents (id, collection, filename, content_hash, mime, size, status, created_at, "
            "updated_at, lineage) VALUES (?, 'default', ?, ?, 'text/plain', 4, 'pending', ?, ?, ?)",
            (f"d{i}", f"d{i}.txt", f"h{i}", float(i), float(i), f"d{i}"))
        conn.execute(
            "INSERT INTO jobs (document_id, kind, status, attempts, worker_id, locked_until, created_at, "
            "updated_at) VALUES (?, 'ingest', ?, ?, ?, ?, ?, ?)",
            (f"d{i}", status, int(status != "queued"), "gone" if status == "running" else None,
             1.0 if status == "running" else None, float(i), float(i)))
    conn.close()


def test_old_jobs_keep_working_in_the_interactive_queue(tmp_path: Path) -> None:
    path = tmp_path / "ragd.sqlite3"
    old_database(path)
    store = SqliteStore(path)
    try:
        store.migrate()
        assert store.job_counts()["interactive"] == {"queued": 1, "running": 1, "done": 1, "failed": 0}
        assert store.job_counts()["bulk"] == {"queued": 0, "running": 0, "done": 0, "failed": 0}
        assert [j.document_id for j in store.unpublished_jobs(["d0", "d1", "d2"])] == ["d0"]
        assert [j.document_id for j in store.jobs_to_publish(grace_s=0)] == ["d0", "d1"]  # d1: its lease ran out
        jobs = store.claim_jobs("w", 10, queue="interactive")
        assert [(j.document_id, j.attempts, j.queue, j.not_before, j.published_at) for j in jobs] == [
            ("d0", 1, "interactive", None, None), ("d1", 2, "interactive", None, None)]
        store.enqueue_job("d2", queue="bulk")
        assert store.oldest_queued_age_s("bulk") >= 0.0 and store.queue_depth() == 3
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE jobs SET queue = 'urgent' WHERE document_id = 'd0'")
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"jobs_queued", "jobs_unpublished", "jobs_backoff", "jobs_queue_status"} <= indexes
