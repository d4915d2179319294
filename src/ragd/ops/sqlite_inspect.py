"""Read-mostly SQL the operations tools need and the ``Store`` port does not offer (SQLite only).

The ``Store`` port serves the application (documents, chunks, search, jobs one at a time); operations need
whole-table views: chunks per collection for metrics, the seqs held by the FTS5 index, stuck jobs, documents
without a job. Rather than widening the port for tools, this module opens its own connections with the store's
connection helper (:class:`ragd.store.sqlite.connection.Database`: WAL, busy timeout) and queries the
schema of :mod:`ragd.store.sqlite.schema` directly. Its one write is the FTS5 ``rebuild`` command the schema
documents for regenerating the lexical index from ``chunks``.
A PostgreSQL adapter would bring its own equivalent.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ragd.store.sqlite.connection import Database


def sqlite_path(store: Any) -> Path | None:
    """The database file of a SQLite store, or ``None`` for other adapters."""
    path = getattr(store, "path", None)
    return Path(path) if path is not None and type(store).__name__ == "SqliteStore" else None


class SqliteInspector:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = Database(self.path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteInspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._db.conn().execute(sql, params).fetchall()

    # -- consistency -----------------------------------------------------------------------------------------
    def chunk_seqs(self) -> np.ndarray:
        return np.array([r[0] for r in self._all("SELECT seq FROM chunks ORDER BY seq")], dtype=np.int64)

    def chunks_without_embedding(self, model: str) -> int:
        return int(self._all(
            "SELECT COUNT(*) FROM chunks AS c LEFT JOIN embeddings AS e "
            "ON e.model = ? AND e.content_hash = c.content_hash WHERE e.content_hash IS NULL", (model,)
        )[0][0])

    def fts_seqs(self) -> np.ndarray:
        """Rowids in the FTS5 index itself (its ``docsize`` shadow table), not in its content table."""
        rows = self._all("SELECT id FROM chunks_fts_docsize ORDER BY id")
        return np.array([r[0] for r in rows], dtype=np.int64)

    def rebuild_fts(self) -> None:
        with self._db.write() as conn:
            conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild')")

    def documents(self) -> list[tuple[str, str, float]]:
        """``(id, status, updated_at)`` of every document."""
        rows = self._all("SELECT id, status, updated_at FROM documents")
        return [(str(i), str(s), float(u)) for i, s, u in rows]

    def stuck_jobs(self, older_than_s: float) -> list[dict[str, Any]]:
        """Jobs queued or running untouched for longer than ``older_than_s``, and running jobs whose lease
        has expired."""
        now = time.time()
        rows = self._all(
            "SELECT id, document_id, status, attempts, updated_at, locked_until FROM jobs "
            "WHERE (status IN ('queued', 'running') AND updated_at < ?) "
            "OR (status = 'running' AND locked_until < ?) ORDER BY id",
            (now - older_than_s, now),
        )
        return [
            {"job_id": r[0], "document_id": r[1], "status": r[2], "attempts": r[3],
             "idle_s": round(now - r[4], 1), "lease_expired": r[5] is not None and r[5] < now}
            for r in rows
        ]

    def unfinished_without_job(self) -> list[str]:
        """Documents neither indexed nor failed without a queued or running job: nothing will finish them."""
        rows = self._all(
            "SELECT d.id FROM documents AS d WHERE d.status NOT IN ('indexed', 'failed') AND NOT EXISTS "
            "(SELECT 1 FROM jobs AS j WHERE j.document_id = d.id AND j.status IN ('queued', 'running'))"
        )
        return [str(r[0]) for r in rows]
