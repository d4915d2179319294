"""The change log of the PostgreSQL store, as the derived indexes read it (the same feed as
:mod:`ragd.store.sqlite.changes`). A trigger on ``chunks`` appends an ``add`` or ``del`` row in the transaction
that writes the chunk (:mod:`ragd.store.postgres.schema`), and every such transaction takes ``CHANGES_LOCK``
first, so change ids are handed out in commit order: a follower that read up to id ``w`` never later sees a row
below ``w`` commit.

Vectors are read in binary (pgvector's binary loader hands back float32 arrays without parsing text), one query
per batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ragd.store.postgres.connection import to_array

if TYPE_CHECKING:
    from ragd.store.postgres.connection import Database


class ChangeLogMixin:
    _db: Database

    def _binary(self, sql: str, params: Any) -> list[Any]:
        with self._db.connection() as conn:
            return conn.execute(sql, params, binary=True).fetchall()

    def changes_since(
        self, model: str, after: int, limit: int = 10_000
    ) -> list[tuple[int, int, str, np.ndarray | None]]:
        rows = self._binary(
            "SELECT ch.change_id, ch.seq, ch.op, e.vector FROM changes AS ch "
            "LEFT JOIN chunks AS c ON ch.op = 'add' AND c.seq = ch.seq "
            "LEFT JOIN embeddings AS e ON e.model = %s AND e.content_hash = c.content_hash "
            "WHERE ch.change_id > %s ORDER BY ch.change_id LIMIT %s",
            (model, int(after), int(limit)),
        )
        return [(cid, seq, op, None if v is None else to_array(v)) for cid, seq, op, v in rows]

    def lexical_changes_since(self, after: int, limit: int = 10_000) -> list[tuple[int, int, str, str | None]]:
        rows = self._db.conn().execute(
            "SELECT ch.change_id, ch.seq, ch.op, c.lex FROM changes AS ch "
            "LEFT JOIN chunks AS c ON ch.op = 'add' AND c.seq = ch.seq "
            "WHERE ch.change_id > %s ORDER BY ch.change_id LIMIT %s",
            (int(after), int(limit)),
        )
        return [(cid, seq, op, lex) for cid, seq, op, lex in rows]

    def iter_lexical(self, batch: int = 10_000) -> Iterator[list[tuple[int, str]]]:
        after = 0
        while True:
            rows = self._db.conn().execute(
                "SELECT seq, lex FROM chunks WHERE seq > %s ORDER BY seq LIMIT %s", (after, int(batch))
            ).fetchall()
            if not rows:
                return
            yield [(seq, lex) for seq, lex in rows]
            after = int(rows[-1][0])

    def last_change_id(self) -> int:
        return int(self._db.conn().execute("SELECT COALESCE(MAX(change_id), 0) FROM changes").fetchone()[0])

    def iter_vectors(self, model: str, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        after = 0
        while True:
            rows = self._binary(
                "SELECT c.seq, e.vector FROM chunks AS c "
                "JOIN embeddings AS e ON e.model = %s AND e.content_hash = c.content_hash "
                "WHERE c.seq > %s ORDER BY c.seq LIMIT %s",
                (model, after, int(batch)),
            )
            if not rows:
                return
            seqs = np.array([r[0] for r in rows], dtype=np.int64)
            yield seqs, np.stack([to_array(r[1]) for r in rows])
            after = int(seqs[-1])
