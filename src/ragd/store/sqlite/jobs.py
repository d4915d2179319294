"""The job table of the SQLite store: a small lease-based queue for the embedded mode.

A claim is one ``UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING …`` inside ``BEGIN IMMEDIATE``: SQLite
serialises writers, so two threads or processes can never take the same job. A running job whose lease
(``locked_until``) has passed is claimable again, so a crashed worker's job is retried; a live worker renews the
lease of the jobs it works on (:meth:`JobsMixin.renew_jobs`), and finishing or releasing a job with a ``worker_id``
does nothing once another worker holds it. A job released for a retry waits for its ``not_before`` (the backoff);
``published_at`` and the look-ups over it serve a broker's dispatcher and sweeper (:class:`ragd.store.base.JobQueue`)
— the same on one SQLite file as on PostgreSQL, though the distributed mode runs on PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ragd.errors import DocumentNotFound
from ragd.models import Job
from ragd.store.rows import JOB_COLUMNS, check_queue, count_table, jobs_by_id

if TYPE_CHECKING:
    from ragd.store.sqlite.connection import Database

PUBLISH_GUARD_S = 1.0
""":meth:`JobsMixin.mark_published` leaves a job published less than this long ago to whoever published it."""


class JobsMixin:
    _db: Database

    @staticmethod
    def _insert_job(conn: sqlite3.Connection, doc_id: str, kind: str, now: float, queue: str = "interactive") -> int:
        check_queue(queue)
        try:
            cursor = conn.execute(
                "INSERT INTO jobs (document_id, kind, status, attempts, created_at, updated_at, queue) "
                "VALUES (?, ?, 'queued', 0, ?, ?, ?)",
                (doc_id, kind, now, now, queue),
            )
        except sqlite3.IntegrityError as exc:
            raise DocumentNotFound(f"no document {doc_id!r}") from exc
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def enqueue_job(self, doc_id: str, kind: str = "ingest", *, queue: str = "interactive") -> int:
        with self._db.write() as conn:
            return self._insert_job(conn, doc_id, kind, time.time(), queue)

    def claim_jobs(
        self, worker_id: str, limit: int, lease_seconds: float = 600.0, *, max_bytes: int | None = None,
        max_size: int | None = None, queue: str | None = None,
    ) -> list[Job]:
        now = time.time()
        # without a size filter the oldest ``limit`` of each kind are the only candidates; with one, any may be
        inner = limit if max_size is None else -1
        # the queue as a literal condition (not ``:queue IS NULL OR …``), so that the planner uses ``jobs_queued``
        mine = "" if queue is None else " AND queue = :queue"
        with self._db.write() as conn:
            rows = conn.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = :worker, "
                "locked_until = :until, updated_at = :now WHERE id IN (SELECT id FROM ("
                "  SELECT j.id, ROW_NUMBER() OVER w AS n, SUM(d.size) OVER w AS total FROM ("
                "    SELECT id, document_id FROM (SELECT id, document_id FROM jobs WHERE status = 'queued' "
                f"      AND (not_before IS NULL OR not_before <= :now){mine} ORDER BY id LIMIT :inner)"
                "    UNION ALL SELECT id, document_id FROM (SELECT id, document_id FROM jobs "
                f"      WHERE status = 'running' AND locked_until < :now{mine} ORDER BY id LIMIT :inner)"
                "  ) AS j JOIN documents AS d ON d.id = j.document_id WHERE :max_size IS NULL OR d.size <= :max_size "
                "  WINDOW w AS (ORDER BY j.id ROWS UNBOUNDED PRECEDING) ORDER BY j.id LIMIT :limit"
                ") WHERE n = 1 OR :max_bytes IS NULL OR total <= :max_bytes) "
                f"RETURNING {JOB_COLUMNS}",
                {"worker": worker_id, "until": now + lease_seconds, "now": now, "inner": inner, "limit": limit,
                 "max_size": max_size, "max_bytes": max_bytes, "queue": queue},
            ).fetchall()
        return jobs_by_id(rows)

    def claim_job(self, job_id: int, worker_id: str, lease_seconds: float = 600.0) -> Job | None:
        now = time.time()
        with self._db.write() as conn:
            row = conn.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = ?, locked_until = ?, "
                "updated_at = ? WHERE id = ? AND (status = 'queued' OR (status = 'running' AND locked_until < ?)) "
                f"RETURNING {JOB_COLUMNS}",
                (worker_id, now + lease_seconds, now, int(job_id), now),
            ).fetchone()
        return jobs_by_id([row])[0] if row else None

    def renew_jobs(self, worker_id: str, job_ids: Sequence[int], lease_seconds: float = 600.0) -> list[int]:
        now = time.time()
        with self._db.write() as conn:
            rows = conn.execute(
                "UPDATE jobs SET locked_until = ?, updated_at = ? WHERE status = 'running' AND worker_id = ? "
                "AND id IN (SELECT value FROM json_each(?)) RETURNING id",
                (now + lease_seconds, now, worker_id, json.dumps(list(job_ids))),
            ).fetchall()
        return sorted(r[0] for r in rows)

    @staticmethod
    def _held(worker_id: str | None) -> tuple[str, tuple[str, ...]]:
        """The condition that a job is still held by ``worker_id`` (any holder when ``None``)."""
        return ("", ()) if worker_id is None else (" AND status = 'running' AND worker_id = ?", (worker_id,))

    def finish_jobs(self, job_ids: Sequence[int], *, worker_id: str | None = None) -> None:
        held, params = self._held(worker_id)
        with self._db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'done', error = NULL, worker_id = NULL, locked_until = NULL, "
                f"updated_at = ? WHERE id IN (SELECT value FROM json_each(?)){held}",
                (time.time(), json.dumps(list(job_ids)), *params),
            )

    def finish_job(self, job_id: int, *, ok: bool, error: str | None = None, worker_id: str | None = None) -> None:
        held, params = self._held(worker_id)
        with self._db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, error = ?, worker_id = NULL, locked_until = NULL, "
                f"updated_at = ? WHERE id = ?{held}",
                ("done" if ok else "failed", error, time.time(), job_id, *params),
            )

    def release_job(
        self, job_id: int, *, worker_id: str | None = None, delay_s: float = 0.0, error: str | None = None
    ) -> None:
        held, params = self._held(worker_id)
        with self._db.write() as conn:
            now = time.time()
            conn.execute(
                "UPDATE jobs SET status = 'queued', worker_id = NULL, locked_until = NULL, not_before = ?, "
                f"error = COALESCE(?, error), updated_at = ? WHERE id = ? AND status = 'running'{held}",
                (now + delay_s, error, now, job_id, *params),
            )

    def requeue_running(self) -> int:
        with self._db.write() as conn:
            return conn.execute(
                "UPDATE jobs SET status = 'queued', worker_id = NULL, locked_until = NULL, updated_at = ? "
                "WHERE status = 'running'",
                (time.time(),),
            ).rowcount

    def queue_depth(self) -> int:
        return (
            self._db.conn()
            .execute("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
            .fetchone()[0]
        )

    # -- broker mode: what to publish, and who publishes it --------------------------------------------------
    def _jobs(self, sql: str, params: dict[str, Any] | Sequence[Any]) -> list[Job]:
        return jobs_by_id(self._db.conn().execute(sql, params).fetchall())

    def unpublished_jobs(self, doc_ids: Sequence[str]) -> list[Job]:
        return self._jobs(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE document_id IN (SELECT value FROM json_each(?)) "
            "AND status = 'queued' AND published_at IS NULL ORDER BY id",
            (json.dumps(list(doc_ids)),),
        )

    def jobs_to_publish(self, *, grace_s: float, limit: int = 500) -> list[Job]:
        now = time.time()
        # the three cases are disjoint; each part has a partial index (jobs_unpublished, jobs_backoff, jobs_status)
        return self._jobs(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'queued' AND published_at IS NULL "
            "  AND created_at < :young AND (not_before IS NULL OR not_before <= :now) "
            f"UNION ALL SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'queued' AND not_before IS NOT NULL "
            "  AND not_before <= :now AND published_at < not_before "
            f"UNION ALL SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'running' AND locked_until < :now "
            "  AND (published_at IS NULL OR published_at < locked_until) "
            "ORDER BY id LIMIT :limit",
            {"now": now, "young": now - grace_s, "limit": int(limit)},
        )

    def stale_published(self, queue: str, published_before: float, limit: int = 500) -> list[Job]:
        return self._jobs(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'queued' AND queue = ? AND published_at < ? "
            "AND (not_before IS NULL OR not_before <= ?) ORDER BY id LIMIT ?",
            (queue, published_before, time.time(), int(limit)),
        )

    def mark_published(self, job_ids: Sequence[int], *, now: float | None = None) -> list[int]:
        now = time.time() if now is None else now
        with self._db.write() as conn:  # one writer at a time: a concurrent caller sees this one's published_at
            rows = conn.execute(
                "UPDATE jobs SET published_at = ? WHERE id IN (SELECT value FROM json_each(?)) "
                "AND status IN ('queued', 'running') AND (published_at IS NULL OR published_at < ?) RETURNING id",
                (now, json.dumps([int(j) for j in job_ids]), now - PUBLISH_GUARD_S),
            ).fetchall()
        return sorted(r[0] for r in rows)

    # -- state for metrics and limits ------------------------------------------------------------------------
    def job_counts(self) -> dict[str, dict[str, int]]:
        return count_table(self._db.conn().execute(
            "SELECT queue, status, COUNT(*) FROM jobs GROUP BY queue, status").fetchall())

    def oldest_queued_age_s(self, queue: str | None = None) -> float:
        mine, params = ("", ()) if queue is None else (" AND queue = ?", (queue,))
        oldest = self._db.conn().execute(
            f"SELECT MIN(created_at) FROM jobs WHERE status = 'queued'{mine}", params).fetchone()[0]
        return 0.0 if oldest is None else max(0.0, time.time() - oldest)

    def active_jobs_for_tenant(self, tenant_id: str) -> int:
        return int(self._db.conn().execute(
            "SELECT COUNT(*) FROM jobs AS j JOIN documents AS d ON d.id = j.document_id "
            "WHERE j.status IN ('queued', 'running') AND d.tenant_id = ?", (tenant_id,)).fetchone()[0])
