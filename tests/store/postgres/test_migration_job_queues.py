"""Migration 8 on a PostgreSQL database made before it: its jobs (queued, running, done) keep working, in the
``interactive`` queue, never published and due at once; the new column refuses an unknown queue."""

from __future__ import annotations

import psycopg
import pytest

from ragd.store.backend import open_backend
from ragd.store.postgres.schema import MIGRATIONS

RELEASED = 7
"""Schema version of the last release before job queues (``_m007_blobs``)."""


def old_database(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("CREATE TABLE ragd_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO ragd_schema (version) VALUES (%s)", (RELEASED,))
        for step in MIGRATIONS[:RELEASED]:
            step(conn)
        for i, status in enumerate(("queued", "running", "done")):
            conn.execute(
                "INSERT INTO documents (id, collection, filename, content_hash, mime, size, status, created_at, "
                "updated_at, lineage) VALUES (%s, 'default', %s, %s, 'text/plain', 4, 'pending', %s, %s, %s)",
                (f"d{i}", f"d{i}.txt", f"h{i}", float(i), float(i), f"d{i}"))
            conn.execute(
                "INSERT INTO jobs (document_id, kind, status, attempts, worker_id, locked_until, created_at, "
                "updated_at) VALUES (%s, 'ingest', %s, %s, %s, %s, %s, %s)",
                (f"d{i}", status, int(status != "queued"), "gone" if status == "running" else None,
                 1.0 if status == "running" else None, float(i), float(i)))


def test_old_jobs_keep_working_in_the_interactive_queue(pg_url: str) -> None:
    old_database(pg_url)
    backend = open_backend(pg_url)  # migrates
    try:
        store = backend.store
        assert backend.migrate() == 0
        assert store.job_counts()["interactive"] == {"queued": 1, "running": 1, "done": 1, "failed": 0}
        assert [j.document_id for j in store.unpublished_jobs(["d0", "d1", "d2"])] == ["d0"]
        assert [j.document_id for j in store.jobs_to_publish(grace_s=0)] == ["d0", "d1"]  # d1: its lease ran out
        jobs = store.claim_jobs("w", 10, queue="interactive")
        assert [(j.document_id, j.attempts, j.queue, j.not_before, j.published_at) for j in jobs] == [
            ("d0", 1, "interactive", None, None), ("d1", 2, "interactive", None, None)]
        store.enqueue_job("d2", queue="bulk")
        assert store.queue_depth() == 3
    finally:
        backend.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM ragd_schema").fetchone() == (len(MIGRATIONS),)
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE jobs SET queue = 'urgent' WHERE document_id = 'd0'")
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'jobs'")}
        assert {"jobs_queued", "jobs_unpublished", "jobs_backoff", "jobs_queue_status"} <= indexes
