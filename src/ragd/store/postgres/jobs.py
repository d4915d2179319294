"""The job table of the PostgreSQL store: the lease-based queue of :mod:`ragd.store.sqlite.jobs`, safe across
processes and replicas without a global lock.

A batch claim (:meth:`JobsMixin.claim_jobs`) is one statement: the candidate rows (the oldest due queued jobs, and
the oldest running ones whose lease ran out) are locked with ``FOR UPDATE SKIP LOCKED``, so concurrent claimers each
take different jobs and never wait for one another, then updated to ``running``. A running job a claimer skipped
because another one had it locked is that other claimer's; an expired lease is tested again after the lock is taken
(READ COMMITTED re-reads the row), so a job renewed meanwhile is not taken over. Finishing, releasing and renewing
are single conditional updates.

Taking one named job (:meth:`JobsMixin.claim_job`, a broker message's task) is a conditional update that *waits*
for a row lock rather than skipping it: the row may be locked only for a moment (a batch claim that looked at it as
a candidate and left it, a sweeper marking it published), and skipping it would drop the message's job until a
sweep. After the wait, READ COMMITTED tests the condition again on the row as committed, so of concurrent claims
one wins. :meth:`JobsMixin.mark_published` locks its rows in id order (two sweepers never deadlock) and updates
only those not published within the last second: of two concurrent sweepers, the second finds the first's
``published_at`` and leaves the job to it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from ragd.errors import DocumentNotFound
from ragd.models import Job
from ragd.store.rows import JOB_COLUMNS, check_queue, count_table, jobs_by_id

if TYPE_CHECKING:
    from ragd.store.postgres.connection import Database

PUBLISH_GUARD_S = 1.0
""":meth:`JobsMixin.mark_published` leaves a job published less than this long ago to whoever published it."""
_RETURNING = f"RETURNING {', '.join(f'jobs.{c}' for c in JOB_COLUMNS.split(', '))}"


def _ids(job_ids: Sequence[int]) -> list[int]:
    return [int(j) for j in job_ids]


class JobsMixin:
    _db: Database

    @staticmethod
    def _insert_job(conn: psycopg.Connection, doc_id: str, kind: str, now: float, queue: str = "interactive") -> int:
        check_queue(queue)
        try:
            row = conn.execute(
                "INSERT INTO jobs (document_id, kind, status, attempts, created_at, updated_at, queue) "
                "SELECT id, %s, 'queued', 0, %s, %s, %s FROM documents WHERE id = %s RETURNING id",
                (kind, now, now, queue, doc_id),
            ).fetchone()
        except psycopg.errors.ForeignKeyViolation as exc:  # deleted by a concurrent transaction
            raise DocumentNotFound(f"no document {doc_id!r}") from exc
        if row is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        return int(row[0])

    def enqueue_job(self, doc_id: str, kind: str = "ingest", *, queue: str = "interactive") -> int:
        with self._db.write() as conn:
            return self._insert_job(conn, doc_id, kind, time.time(), queue)

    def claim_jobs(
        self, worker_id: str, limit: int, lease_seconds: float = 600.0, *, max_bytes: int | None = None,
        max_size: int | None = None, queue: str | None = None,
    ) -> list[Job]:
        if limit <= 0:
            return []
        now = time.time()
        # the queue as a literal condition, so that the planner can use the partial index ``jobs_queued``
        mine = "" if queue is None else " AND j.queue = %(queue)s"
        # the oldest ``limit`` eligible jobs of each kind (queued and due; running with an expired lease) are the
        # only candidates: the budget below keeps a prefix of them in id order
        candidates = (
            "SELECT j.id, d.size FROM jobs AS j JOIN documents AS d ON d.id = j.document_id "
            "WHERE {where}" + mine + " AND (%(max_size)s::bigint IS NULL OR d.size <= %(max_size)s::bigint) "
            "ORDER BY j.id LIMIT %(limit)s FOR UPDATE OF j SKIP LOCKED"
        )
        queued = candidates.format(where="j.status = 'queued' AND (j.not_before IS NULL OR j.not_before <= %(now)s)")
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
                f"{_RETURNING}",
                {"worker": worker_id, "until": now + lease_seconds, "now": now, "limit": int(limit),
                 "max_size": max_size, "max_bytes": max_bytes, "queue": queue},
            ).fetchall()
        return jobs_by_id(rows)

    def claim_job(self, job_id: int, worker_id: str, lease_seconds: float = 600.0) -> Job | None:
        now = time.time()
        with self._db.write() as conn:
            row = conn.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = %(worker)s, "
                "locked_until = %(until)s, updated_at = %(now)s WHERE id = %(id)s "
                "AND (status = 'queued' OR (status = 'running' AND locked_until < %(now)s)) "
                f"{_RETURNING}",
                {"worker": worker_id, "until": now + lease_seconds, "now": now, "id": int(job_id)},
            ).fetchone()
        return jobs_by_id([row])[0] if row else None

    def renew_jobs(self, worker_id: str, job_ids: Sequence[int], lease_seconds: float = 600.0) -> list[int]:
        now = time.time()
        with self._db.write() as conn:
            rows = conn.execute(
                "UPDATE jobs SET locked_until = %s, updated_at = %s WHERE status = 'running' AND worker_id = %s "
                "AND id = ANY(%s::bigint[]) RETURNING id",
                (now + lease_seconds, now, worker_id, _ids(job_ids)),
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
                (time.time(), _ids(job_ids), *params),
            )

    def finish_job(self, job_id: int, *, ok: bool, error: str | None = None, worker_id: str | None = None) -> None:
        held, params = self._held(worker_id)
        with self._db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = %s, error = %s, worker_id = NULL, locked_until = NULL, "
                f"updated_at = %s WHERE id = %s{held}",
                ("done" if ok else "failed", error, time.time(), int(job_id), *params),
            )

    def release_job(
        self, job_id: int, *, worker_id: str | None = None, delay_s: float = 0.0, error: str | None = None
    ) -> None:
        held, params = self._held(worker_id)
        now = time.time()
        with self._db.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'queued', worker_id = NULL, locked_until = NULL, not_before = %s, "
                f"error = COALESCE(%s, error), updated_at = %s WHERE id = %s AND status = 'running'{held}",
                (now + delay_s, error, now, int(job_id), *params),
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

    # -- broker mode: what to publish, and who publishes it --------------------------------------------------
    def _jobs(self, sql: str, params: dict[str, Any] | Sequence[Any]) -> list[Job]:
        return jobs_by_id(self._db.conn().execute(sql, params).fetchall())  # type: ignore[arg-type]

    def unpublished_jobs(self, doc_ids: Sequence[str]) -> list[Job]:
        return self._jobs(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE document_id = ANY(%s::text[]) "
            "AND status = 'queued' AND published_at IS NULL ORDER BY id",
            (list(doc_ids),),
        )

    def jobs_to_publish(self, *, grace_s: float, limit: int = 500) -> list[Job]:
        now = time.time()
        # the three cases are disjoint; each part has an index (jobs_unpublished, jobs_backoff, jobs_status)
        return self._jobs(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'queued' AND published_at IS NULL "
            "  AND created_at < %(young)s AND (not_before IS NULL OR not_before <= %(now)s) "
            f"UNION ALL SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'queued' AND not_before IS NOT NULL "
            "  AND not_before <= %(now)s AND published_at < not_before "
            f"UNION ALL SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'running' AND locked_until < %(now)s "
            "  AND (published_at IS NULL OR published_at < locked_until) "
            "ORDER BY id LIMIT %(limit)s",
            {"now": now, "young": now - grace_s, "limit": int(limit)},
        )

    def stale_published(self, queue: str, published_before: float, limit: int = 500) -> list[Job]:
        return self._jobs(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'queued' AND queue = %s AND published_at < %s "
            "AND (not_before IS NULL OR not_before <= %s) ORDER BY id LIMIT %s",
            (queue, published_before, time.time(), int(limit)),
        )

    def mark_published(self, job_ids: Sequence[int], *, now: float | None = None) -> list[int]:
        now = time.time() if now is None else now
        with self._db.write() as conn:
            rows = conn.execute(
                "WITH locked AS (SELECT id FROM jobs WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR UPDATE) "
                "UPDATE jobs SET published_at = %(now)s FROM locked WHERE jobs.id = locked.id "
                "AND jobs.status IN ('queued', 'running') "
                "AND (jobs.published_at IS NULL OR jobs.published_at < %(guard)s) RETURNING jobs.id",
                {"ids": _ids(job_ids), "now": now, "guard": now - PUBLISH_GUARD_S},
            ).fetchall()
        return sorted(int(r[0]) for r in rows)

    # -- state for metrics and limits ------------------------------------------------------------------------
    def job_counts(self) -> dict[str, dict[str, int]]:
        return count_table(self._db.conn().execute(
            "SELECT queue, status, COUNT(*) FROM jobs GROUP BY queue, status").fetchall())

    def oldest_queued_age_s(self, queue: str | None = None) -> float:
        mine, params = ("", ()) if queue is None else (" AND queue = %s", (queue,))
        row = self._db.conn().execute(
            f"SELECT MIN(created_at) FROM jobs WHERE status = 'queued'{mine}", params).fetchone()
        return 0.0 if row is None or row[0] is None else max(0.0, time.time() - float(row[0]))

    def active_jobs_for_tenant(self, tenant_id: str) -> int:
        return int(self._db.conn().execute(
            "SELECT COUNT(*) FROM jobs AS j JOIN documents AS d ON d.id = j.document_id "
            "WHERE j.status IN ('queued', 'running') AND d.tenant_id = %s", (tenant_id,)).fetchone()[0])
