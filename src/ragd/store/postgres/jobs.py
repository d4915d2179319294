"""The job table of the PostgreSQL store: the lease-based queue of :mod:`ragd.store.sqlite.jobs`, safe across
processes and replicas without a global lock.

A claim is one statement: the candidate rows (the oldest queued jobs, and the oldest running ones whose lease ran
out) are locked with ``FOR UPDATE SKIP LOCKED``, so concurrent claimers each take different jobs and never wait for
one another, then updated to ``running``. A running job a claimer skipped because another one had it locked is
that other claimer's; an expired lease is tested again after the lock is taken (READ COMMITTED re-reads the row),
so a job renewed meanwhile is not taken over. Finishing, releasing and renewing are single conditional updates.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import psycopg

from ragd.errors import DocumentNotFound
from ragd.models import Job

if TYPE_CHECKING:
    from ragd.store.postgres.connection import Database

_JOB = "id, document_id, kind, status, attempts, error"


class JobsMixin:
    _db: Database

    @staticmethod
    def _insert_job(conn: psycopg.Connection, doc_id: str, kind: str, now: float) -> int:
        try:
            row = conn.execute(
                "INSERT INTO jobs (document_id, kind, status, attempts, created_at, updated_at) "
                "SELECT id, %s, 'queued', 0, %s, %s FROM documents WHERE id = %s RETURNING id",
                (kind, now, now, doc_id),
            ).fetchone()
        except psycopg.errors.ForeignKeyViolation as exc:  # deleted by a concurrent transaction
            raise DocumentNotFound(f"no document {doc_id!r}") from exc
        if row is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        return int(row[0])

    def enqueue_job(self, doc_id: str, kind: str = "ingest") -> int:
        with self._db.write() as conn:
            return self._insert_job(conn, doc_id, kind, time.time())

    def claim_jobs(
        self, worker_id: str, limit: int, lease_seconds: float = 600.0, *, max_bytes: int | None = None,
        max_size: int | None = None,
    ) -> list[Job]:
        if limit <= 0:
            return []
        now = time.time()
        # the oldest ``limit`` eligible jobs of each kind (queued; running with an expired lease) are the only
        # candidates: the budget below keeps a prefix of them in id order
        candidates = (
            "SELECT j.id, d.size FROM jobs AS j JOIN documents AS d ON d.id = j.document_id "
            "WHERE {where} AND (%(max_size)s::bigint IS NULL OR d.size <= %(max_size)s::bigint) "
            "ORDER BY j.id LIMIT %(limit)s FOR UPDATE OF j SKIP LOCKED"
        )
        queued = candidates.format(where="j.status = 'queued'")
        expired = candidates.format(where="j.status = 'running' AND j.locked_until < %(now)s")
        with self._db.write() as conn:
            rows = conn.execute(
                f"WITH queued AS ({queued}), expired AS ({expired}), "
                "cand AS (SELECT id, size FROM queued UNION ALL SELECT id, size FROM expired), "
                "picked AS (SELECT id, ROW_NUMBER() OVER w AS n, SUM(size) OVER w AS total FROM cand "
                "  WINDOW w AS (ORDER BY id ROWS UNBOUNDED PRECEDING) ORDER BY id LIMIT %(limit)s) "
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = %(worker)s, "
                "locked_until = %(until)s, updated_at = %(now)s FROM picked WHERE jobs.id = picked.id "
                "AND (picked.n = 1 OR %(max_bytes)s::bigint IS NULL OR picked.total <= %(max_bytes)s::bigint) "
                f"RETURNING {', '.join(f'jobs.{c}' for c in _JOB.split(', '))}",
                {"worker": worker_id, "until": now + lease_seconds, "now": now, "limit": int(limit),
                 "max_size": max_size, "max_bytes": max_bytes},
            ).fetchall()
        jobs = [Job(id=r[0], document_id=r[1], kind=r[2], status=r[3], attempts=r[4], error=r[5]) for r in rows]
        return sorted(jobs, key=lambda j: j.id)

    def renew_jobs(self, worker_id: str, job_ids: Sequence[int], lease_seconds: float = 600.0) -> list[int]:
        now = time.time()
        with self._db.write() as conn:
            rows = conn.execute(
                "UPDATE jobs SET locked_until = %s, updated_at = %s WHERE status = 'running' AND worker_id = %s "
                "AND id = ANY(%s::bigint[]) RETURNING id",
                (now + lease_seconds, now, worker_id, [int(j) for j in job_ids]),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)

    @staticmethod
    def _held(worker_id: str | None) -> tuple[str, tuple[str, ...]]:
        """The condition that a job is still held by ``worker_id`` (any holder when ``None``)."""
        return ("", ()) if worker_id is None else (" AND status = 'running' AND worker_id = %s", (worker_id,))

    def finish_jobs(self, job_ids: Sequence[int], *, worker_id: str | None = None) -> None:
        held, params = self._held(worker_id)
        with self._db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'done', error = NULL, worker_id = NULL, locked_until = NULL, "
                f"updated_at = %s WHERE id = ANY(%s::bigint[]){held}",
                (time.time(), [int(j) for j in job_ids], *params),
            )

    def finish_job(self, job_id: int, *, ok: bool, error: str | None = None, worker_id: str | None = None) -> None:
        held, params = self._held(worker_id)
        with self._db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = %s, error = %s, worker_id = NULL, locked_until = NULL, "
                f"updated_at = %s WHERE id = %s{held}",
                ("done" if ok else "failed", error, time.time(), int(job_id), *params),
            )

    def release_job(self, job_id: int, *, worker_id: str | None = None) -> None:
        held, params = self._held(worker_id)
        with self._db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'queued', worker_id = NULL, locked_until = NULL, updated_at = %s "
                f"WHERE id = %s AND status = 'running'{held}",
                (time.time(), int(job_id), *params),
            )

    def requeue_running(self) -> int:
        with self._db.write() as conn:
            return conn.execute(
                "UPDATE jobs SET status = 'queued', worker_id = NULL, locked_until = NULL, updated_at = %s "
                "WHERE status = 'running'",
                (time.time(),),
            ).rowcount

    def queue_depth(self) -> int:
        return int(
            self._db.conn()
            .execute("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
            .fetchone()[0]
        )
