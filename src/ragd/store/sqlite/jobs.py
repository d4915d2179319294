"""The job table of the SQLite store: a small lease-based queue for the embedded mode.

A claim is one ``UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING …`` inside ``BEGIN IMMEDIATE``: SQLite
serialises writers, so two threads or processes can never take the same job. A running job whose lease
(``locked_until``) has passed is claimable again, so a crashed worker's job is retried; a live worker renews the
lease of the jobs it works on (:meth:`JobsMixin.renew_jobs`), and finishing or releasing a job with a ``worker_id``
does nothing once another worker holds it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ragd.errors import DocumentNotFound
from ragd.models import Job

if TYPE_CHECKING:
    from ragd.store.sqlite.connection import Database


class JobsMixin:
    _db: Database

    @staticmethod
    def _insert_job(conn: sqlite3.Connection, doc_id: str, kind: str, now: float) -> int:
        try:
            cursor = conn.execute(
                "INSERT INTO jobs (document_id, kind, status, attempts, created_at, updated_at) "
                "VALUES (?, ?, 'queued', 0, ?, ?)",
                (doc_id, kind, now, now),
            )
        except sqlite3.IntegrityError as exc:
            raise DocumentNotFound(f"no document {doc_id!r}") from exc
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def enqueue_job(self, doc_id: str, kind: str = "ingest") -> int:
        with self._db.write() as conn:
            return self._insert_job(conn, doc_id, kind, time.time())

    def claim_jobs(
        self, worker_id: str, limit: int, lease_seconds: float = 600.0, *, max_bytes: int | None = None,
        max_size: int | None = None,
    ) -> list[Job]:
        now = time.time()
        # without a size filter the oldest ``limit`` of each kind are the only candidates; with one, any may be
        inner = limit if max_size is None else -1
        with self._db.write() as conn:
            rows = conn.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = ?, "
                "locked_until = ?, updated_at = ? WHERE id IN (SELECT id FROM ("
                "  SELECT j.id, ROW_NUMBER() OVER w AS n, SUM(d.size) OVER w AS total FROM ("
                "    SELECT id, document_id FROM (SELECT id, document_id FROM jobs WHERE status = 'queued' "
                "      ORDER BY id LIMIT ?)"
                "    UNION ALL SELECT id, document_id FROM (SELECT id, document_id FROM jobs "
                "      WHERE status = 'running' AND locked_until < ? ORDER BY id LIMIT ?)"
                "  ) AS j JOIN documents AS d ON d.id = j.document_id WHERE ? IS NULL OR d.size <= ? "
                "  WINDOW w AS (ORDER BY j.id ROWS UNBOUNDED PRECEDING) ORDER BY j.id LIMIT ?"
                ") WHERE n = 1 OR ? IS NULL OR total <= ?) "
                "RETURNING id, document_id, kind, status, attempts, error",
                (worker_id, now + lease_seconds, now, inner, now, inner, max_size, max_size, limit, max_bytes,
                 max_bytes),
            ).fetchall()
        jobs = [Job(id=r[0], document_id=r[1], kind=r[2], status=r[3], attempts=r[4], error=r[5]) for r in rows]
        return sorted(jobs, key=lambda j: j.id)

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

    def release_job(self, job_id: int, *, worker_id: str | None = None) -> None:
        held, params = self._held(worker_id)
        with self._db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'queued', worker_id = NULL, locked_until = NULL, updated_at = ? "
                f"WHERE id = ? AND status = 'running'{held}",
                (time.time(), job_id, *params),
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
