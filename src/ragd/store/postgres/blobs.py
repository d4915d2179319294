"""Originals in PostgreSQL: the :class:`~ragd.store.blobs.BlobStore` port over the ``blobs`` table (migration
``_m007_blobs``, :mod:`ragd.store.postgres.schema_blobs`).

Every write is one transaction; a caller already inside a unit of work on this thread (through any port of the
same backend) gets its writes joined to it, so "store the originals, then the documents" can commit as one.
Blobs are read whole (``bytea``): an original is at most ``RAGD_INGEST__MAX_UPLOAD_MB``, which the server already
holds in memory while it parses it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from ragd.store.blobs import BlobEntry
from ragd.store.postgres.connection import Database

PAGE = 5000
"""Keys per query while iterating (keyset pagination: no long-running cursor, no snapshot held open)."""

_INSERT = "INSERT INTO blobs (key, data, size, created_at) VALUES (%s, %s, %s, %s)"


class PostgresBlobStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Database(url)

    def _write_many(self, sql: str, items: Sequence[tuple[str, bytes]]) -> None:
        if not items:
            return
        now = time.time()
        with self._db.write() as conn, conn.cursor() as cur:
            cur.executemany(sql, [(key, data, len(data), now) for key, data in items])

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        self._write_many(_INSERT + " ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, size = EXCLUDED.size, "
                         "created_at = EXCLUDED.created_at", items)

    def add_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        self._write_many(_INSERT + " ON CONFLICT (key) DO NOTHING", items)

    def update(self, key: str, data: bytes) -> bool:
        rows = self._db.conn().execute(
            "UPDATE blobs SET data = %s, size = %s, created_at = %s WHERE key = %s",
            (data, len(data), time.time(), key))
        return rows.rowcount > 0

    def get(self, key: str) -> bytes | None:
        row = self._db.conn().execute("SELECT data FROM blobs WHERE key = %s", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def head(self, key: str, n: int) -> bytes | None:
        row = self._db.conn().execute("SELECT substring(data FROM 1 FOR %s) FROM blobs WHERE key = %s",
                                      (n, key)).fetchone()
        return bytes(row[0]) if row else None

    def delete(self, key: str) -> None:
        self._db.conn().execute("DELETE FROM blobs WHERE key = %s", (key,))

    def iter_entries(self) -> Iterator[BlobEntry]:
        after = ""
        while True:
            rows = self._db.conn().execute(
                "SELECT key, size, created_at FROM blobs WHERE key > %s ORDER BY key LIMIT %s", (after, PAGE),
            ).fetchall()
            for key, size, created_at in rows:
                yield BlobEntry(key, int(size), float(created_at))
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def iter_keys(self) -> Iterator[str]:
        for entry in self.iter_entries():
            yield entry.key

    def count(self) -> int:
        return int(self._db.conn().execute("SELECT count(*) FROM blobs").fetchone()[0])

    def close(self) -> None:
        self._db.close()
