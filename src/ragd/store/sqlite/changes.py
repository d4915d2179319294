"""The change log of the SQLite store, as the derived indexes read it: the dense index
(:class:`~ragd.index.dense.DenseIndex`: vectors) and the in-memory BM25 index
(:class:`~ragd.index.lexical.LexicalIndex`: analysed text). Triggers on ``chunks`` append an ``add`` or ``del``
row in the same transaction as the chunk (schema: :mod:`ragd.store.sqlite.schema`); an index remembers the last
``change_id`` it applied and reads what came after, or starts over from every live chunk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ragd.store.sqlite.connection import Database


def to_blob(vector: np.ndarray) -> bytes:
    """A float32 vector as stored in ``embeddings.vector`` (little-endian)."""
    array = np.asarray(vector)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"an embedding must be a non-empty 1-d vector, got shape {array.shape}")
    return array.astype("<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


class ChangeLogMixin:
    _db: Database

    def changes_since(
        self, model: str, after: int, limit: int = 10_000
    ) -> list[tuple[int, int, str, np.ndarray | None]]:
        rows = self._db.conn().execute(
            "SELECT ch.change_id, ch.seq, ch.op, e.vector FROM changes AS ch "
            "LEFT JOIN chunks AS c ON ch.op = 'add' AND c.seq = ch.seq "
            "LEFT JOIN embeddings AS e ON e.model = ? AND e.content_hash = c.content_hash "
            "WHERE ch.change_id > ? ORDER BY ch.change_id LIMIT ?",
            (model, int(after), int(limit)),
        )
        return [(cid, seq, op, None if blob is None else from_blob(blob)) for cid, seq, op, blob in rows]

    def lexical_changes_since(self, after: int, limit: int = 10_000) -> list[tuple[int, int, str, str | None]]:
        rows = self._db.conn().execute(
            "SELECT ch.change_id, ch.seq, ch.op, c.lex FROM changes AS ch "
            "LEFT JOIN chunks AS c ON ch.op = 'add' AND c.seq = ch.seq "
            "WHERE ch.change_id > ? ORDER BY ch.change_id LIMIT ?",
            (int(after), int(limit)),
        )
        return [(cid, seq, op, lex) for cid, seq, op, lex in rows]

    def iter_lexical(self, batch: int = 10_000) -> Iterator[list[tuple[int, str]]]:
        after = 0
        while True:
            rows = self._db.conn().execute(
                "SELECT seq, lex FROM chunks WHERE seq > ? ORDER BY seq LIMIT ?", (after, int(batch))
            ).fetchall()
            if not rows:
                return
            yield [(seq, lex) for seq, lex in rows]
            after = int(rows[-1][0])

    def last_change_id(self) -> int:
        return self._db.conn().execute("SELECT COALESCE(MAX(change_id), 0) FROM changes").fetchone()[0]

    def iter_vectors(self, model: str, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        after = 0
        while True:
            rows = (
                self._db.conn()
                .execute(
                    "SELECT c.seq, e.vector FROM chunks AS c "
                    "JOIN embeddings AS e ON e.model = ? AND e.content_hash = c.content_hash "
                    "WHERE c.seq > ? ORDER BY c.seq LIMIT ?",
                    (model, after, int(batch)),
                )
                .fetchall()
            )
            if not rows:
                return
            seqs = np.array([r[0] for r in rows], dtype=np.int64)
            matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").astype(np.float32)
            yield seqs, matrix.reshape(len(rows), -1)
            after = int(seqs[-1])
