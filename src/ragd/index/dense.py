"""The embedded dense index: exact cosine search over one float32 matrix, derived from the store.

The store is the truth; this index is a cache of the store's vectors for one embedding model. It remembers the
last change-log id it applied (its *watermark*): :meth:`DenseIndex.sync` catches up from there with
:meth:`Store.changes_since` (through the one follower loop, :mod:`ragd.index.follower`),
:meth:`DenseIndex.rebuild` starts over from :meth:`Store.iter_vectors`. After a crash the caller loads the last
saved files (or rebuilds when :meth:`DenseIndex.load` says False) and syncs.

A saved index names the store it was built from (``store_id``, the random id the store keeps in its meta,
:func:`ragd.store.backend.store_identity`): a data directory reused with another database (a new PostgreSQL, a
restored file) must not apply that database's change ids to vectors of the old one, so :meth:`DenseIndex.load`
refuses an index saved for another store (or saved before stores had an id), and the caller rebuilds it.

Layout: rows ``0..n-1`` of a contiguous float32 matrix hold L2-normalised vectors (capacity grows by half
again when full, so appends are amortised O(1)); ``seqs[row]`` is the chunk seq of each row; ``_pos[seq]`` is
the row of each seq (-1 if absent) — a flat int64 array rather than a dict so that a filter mask of many seqs
is translated to rows in one vectorised step. Seqs are never reused and grow by one per chunk ever stored, so
``_pos`` costs 8 bytes per chunk ever created. A delete moves the last row into the hole (swap-remove).

Search is exact: one matrix-vector product (cosine = dot product of unit vectors; numpy's ``einsum`` loop) and
``argpartition`` for the top k. A filter (``allowed``: seqs, or a boolean mask indexed by seq, as the retriever
passes it) is applied before the top-k, so a selective filter never starves the result: a small allowed set
gathers only its rows, a large one masks the full product.

Speed (``python bench/dense_index_speed.py --queries 100``, 384-d random unit vectors, k=10, p50 / p95, on the
shared 2-core machine at a load average of ~1, 2026-12-04; "numpy floor" is a bare ``matrix @ q`` with numpy's
BLAS on both cores)::

    vectors   numpy floor       unfiltered        10% allowed       1% allowed
    100k       9.3 / 10.1 ms     8.8 / 9.9 ms      5.9 / 7.1 ms     0.4 / 0.5 ms
    200k      19.3 / 21.9 ms    18.3 / 19.8 ms    13.8 / 14.9 ms    1.1 / 1.5 ms
    400k      36.1 / 39.5 ms    35.6 / 40.3 ms    25.7 / 30.1 ms    2.9 / 3.2 ms

The index's single-threaded ``einsum`` matches BLAS on two cores; latency is linear in the number of vectors,
about 90 µs per 1,000 vectors, and memory is 1.5 KiB per vector. At ``settings.retrieval.ann_threshold`` = 300k
an unfiltered query costs ~27 ms of one core: beyond that threshold an ANN structure (HNSW) should take over
(with a PostgreSQL store: ``retrieval.dense_index = store``, :mod:`ragd.store.postgres.dense`).
Filtered searches stay cheap because a selective filter scores only its own rows.

Thread safety: a lock guards the arrays, so searches may run while another thread syncs; a second lock
serialises sync/rebuild/save so the watermark only moves forward.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ragd.errors import ModelMismatch
from ragd.index.follower import Change, catch_up
from ragd.security.filemodes import open_private, private_dir
from ragd.store.base import ChangeFeed

_FORMAT = 1
_MANIFEST = "dense.json"
_SMALL_FILTER_RATIO = 4  # gather rows when allowed rows < n / ratio, else mask the full product
_GATHER_BLOCK = 4096


def _normalised(vectors: np.ndarray) -> np.ndarray:
    out = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _fsync_write(path: Path, write: Any) -> None:
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


class DenseIndex:
    """``DenseIndex(directory, model, dim, store_id)``: exact cosine search over the vectors of ``model`` in the
    store whose id is ``store_id``."""

    def __init__(self, directory: Path, model: str, dim: int, store_id: str | None = None) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        self.directory = Path(directory)
        self.model = model
        self.dim = int(dim)
        self.store_id = store_id
        self.watermark = 0
        self._lock = threading.Lock()  # guards the arrays
        self._sync_lock = threading.RLock()  # serialises sync / rebuild / save / load
        self._reset(0)

    # -- storage ---------------------------------------------------------------------------------------------
    def _reset(self, capacity: int) -> None:
        self._vectors = np.zeros((max(capacity, 16), self.dim), dtype=np.float32)
        self._seqs = np.zeros(max(capacity, 16), dtype=np.int64)
        self._pos = np.full(16, -1, dtype=np.int64)
        self._n = 0

    def _reserve(self, rows: int, max_seq: int) -> None:
        if rows > len(self._seqs):
            capacity = max(rows, len(self._seqs) + len(self._seqs) // 2)
            vectors = np.zeros((capacity, self.dim), dtype=np.float32)
            vectors[: self._n] = self._vectors[: self._n]
            seqs = np.zeros(capacity, dtype=np.int64)
            seqs[: self._n] = self._seqs[: self._n]
            self._vectors, self._seqs = vectors, seqs
        if max_seq >= len(self._pos):
            pos = np.full(max(max_seq + 1, len(self._pos) + len(self._pos) // 2), -1, dtype=np.int64)
            pos[: len(self._pos)] = self._pos
            self._pos = pos

    def _upsert(self, seqs: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or overwrite rows; ``seqs`` must be unique. Caller holds ``_lock``."""
        if len(seqs) == 0:
            return
        if int(seqs.min()) < 0:
            raise ValueError("seqs must be non-negative")
        if vectors.shape[1] != self.dim:
            raise ModelMismatch(
                f"vectors of dimension {vectors.shape[1]} for a {self.dim}-d index of model {self.model!r}"
            )
        vectors = _normalised(vectors)
        self._reserve(self._n + len(seqs), int(seqs.max()))
        rows = self._pos[seqs]
        known = rows >= 0
        self._vectors[rows[known]] = vectors[known]
        fresh = ~known
        count = int(fresh.sum())
        new_rows = np.arange(self._n, self._n + count)
        self._vectors[new_rows] = vectors[fresh]
        self._seqs[new_rows] = seqs[fresh]
        self._pos[seqs[fresh]] = new_rows
        self._n += count

    def _remove(self, seqs: Iterable[int]) -> None:
        """Swap-remove rows of the given seqs (absent ones are ignored). Caller holds ``_lock``."""
        for seq in seqs:
            if seq >= len(self._pos) or self._pos[seq] < 0:
                continue
            row = int(self._pos[seq])
            last = self._n - 1
            if row != last:
                moved = int(self._seqs[last])
                self._vectors[row] = self._vectors[last]
                self._seqs[row] = moved
                self._pos[moved] = row
            self._pos[seq] = -1
            self._n = last

    def add(self, seqs: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or overwrite vectors (normalised on the way in)."""
        seqs = np.asarray(seqs, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(seqs), -1)
        if len(np.unique(seqs)) != len(seqs):
            raise ValueError("duplicate seqs")
        with self._lock:
            self._upsert(seqs, vectors)

    def remove(self, seqs: Iterable[int]) -> None:
        with self._lock:
            self._remove(int(s) for s in seqs)

    def __len__(self) -> int:
        return self._n

    def vectors(self, seqs: Iterable[int]) -> dict[int, np.ndarray]:
        """The (unit) vectors of the given seqs that the index holds, as copies."""
        with self._lock:
            out = {}
            for seq in seqs:
                if 0 <= seq < len(self._pos) and self._pos[seq] >= 0:
                    out[int(seq)] = self._vectors[self._pos[seq]].copy()
            return out

    def seqs(self) -> np.ndarray:
        """A copy of the indexed seqs (unordered)."""
        with self._lock:
            return self._seqs[: self._n].copy()

    # -- catching up with the store --------------------------------------------------------------------------
    def sync(self, store: ChangeFeed, batch: int = 10_000) -> int:
        """Apply the store's changes after the watermark (:func:`ragd.index.follower.catch_up`). Returns how many
        change-log rows were applied."""
        with self._sync_lock:
            return catch_up(self, store, batch)

    def read_changes(self, feed: ChangeFeed, after: int, limit: int) -> list[Change[np.ndarray]]:
        return feed.changes_since(self.model, after, limit)

    def apply_changes(self, final: dict[int, np.ndarray | None], watermark: int) -> None:
        gone = [seq for seq, vec in final.items() if vec is None]
        present = [(seq, vec) for seq, vec in final.items() if vec is not None]
        with self._lock:
            self._remove(gone)
            if present:
                seqs = np.array([s for s, _ in present], dtype=np.int64)
                self._upsert(seqs, np.stack([v for _, v in present]))
            self.watermark = watermark

    def rebuild(self, store: ChangeFeed) -> int:
        """Start over from every live vector in the store, then catch up. Returns the number of vectors."""
        with self._sync_lock:
            # Read the watermark first: whatever changes while we copy is replayed by the sync below.
            watermark = store.last_change_id()
            fresh = DenseIndex(self.directory, self.model, self.dim)
            for seqs, vectors in store.iter_vectors(self.model):
                fresh._upsert(seqs, vectors)
            with self._lock:
                self._vectors, self._seqs = fresh._vectors, fresh._seqs
                self._pos, self._n = fresh._pos, fresh._n
                self.watermark = watermark
            self.sync(store)
            return self._n

    # -- search ----------------------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest seqs by cosine, best first, as ``(seq, score)``, among ``allowed`` if given: an
        array of seqs, or a boolean mask indexed by seq (seqs past its end are not allowed)."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ModelMismatch(f"query of dimension {q.shape[0]} for a {self.dim}-d index")
        norm = float(np.linalg.norm(q))
        if norm > 0:
            q = q / norm
        with self._lock:
            n = self._n
            if k <= 0 or n == 0:
                return []
            if allowed is None:
                rows = None
                scores = self._scores(slice(0, n), q)
            else:
                rows = self._allowed_rows(np.asarray(allowed), n)
                if len(rows) == 0:
                    return []
                if len(rows) * _SMALL_FILTER_RATIO < n:
                    scores = self._gathered_scores(rows, q)
                else:
                    scores = self._scores(slice(0, n), q)[rows]
            if k < len(scores):
                top = np.argpartition(-scores, k - 1)[:k]
                top = top[np.argsort(-scores[top], kind="stable")]
            else:
                top = np.argsort(-scores, kind="stable")
            chosen = top if rows is None else rows[top]
            return [(int(s), float(v)) for s, v in zip(self._seqs[chosen], scores[top], strict=True)]

    def _allowed_rows(self, allowed: np.ndarray, n: int) -> np.ndarray:
        """Ascending rows of the allowed seqs. Caller holds ``_lock``."""
        if allowed.dtype == np.bool_:  # a mask: one gather over the rows, no sort
            seqs = self._seqs[:n]
            keep = np.zeros(n, dtype=bool)
            inside = seqs < len(allowed)
            keep[inside] = allowed.reshape(-1)[seqs[inside]]
            return np.flatnonzero(keep)
        wanted = allowed.astype(np.int64, copy=False).reshape(-1)
        wanted = wanted[(wanted >= 0) & (wanted < len(self._pos))]
        rows = self._pos[wanted]
        return np.unique(rows[rows >= 0])

    def _scores(self, rows: slice | np.ndarray, q: np.ndarray) -> np.ndarray:
        # numpy's own einsum loop, not BLAS: ragd limits BLAS to one thread (a threaded one costs more in
        # hand-offs than it saves on a busy 2-core machine), and one-thread OpenBLAS sgemv is slower than einsum
        # here; bench/dense_index_speed.py shows einsum on one core level with BLAS on two.
        return np.einsum("ij,j->i", self._vectors[rows], q)

    def _gathered_scores(self, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
        # blocks bound the temporary copy of gathered rows
        scores = np.empty(len(rows), dtype=np.float32)
        for start in range(0, len(rows), _GATHER_BLOCK):
            block = rows[start : start + _GATHER_BLOCK]
            scores[start : start + len(block)] = self._scores(block, q)
        return scores

    # -- persistence -----------------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the index atomically: data files named by a fresh generation, then the manifest by rename."""
        with self._sync_lock:
            private_dir(self.directory)
            with self._lock:
                vectors = self._vectors[: self._n].copy()
                seqs = self._seqs[: self._n].copy()
                watermark = self.watermark
            generation = secrets.token_hex(6)
            names = {"vectors": f"dense-{generation}.vectors.npy", "seqs": f"dense-{generation}.seqs.npy"}
            _fsync_write(self.directory / names["vectors"], lambda h: np.save(h, vectors))
            _fsync_write(self.directory / names["seqs"], lambda h: np.save(h, seqs))
            manifest = {
                "format": _FORMAT,
                "model": self.model,
                "dim": self.dim,
                "store_id": self.store_id,
                "count": len(seqs),
                "watermark": watermark,
                "files": names,
                "crc32": {"vectors": zlib.crc32(vectors.tobytes()), "seqs": zlib.crc32(seqs.tobytes())},
            }
            tmp = self.directory / f"{_MANIFEST}.{generation}.tmp"
            _fsync_write(tmp, lambda h: h.write(json.dumps(manifest).encode()))
            os.replace(tmp, self.directory / _MANIFEST)
            self._fsync_directory()
            for old in self.directory.glob("dense-*.npy"):
                if old.name not in names.values():
                    old.unlink(missing_ok=True)

    def _fsync_directory(self) -> None:
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def load(self) -> bool:
        """Load the saved index. False (index unchanged) if missing, corrupt, or for another model, dim or
        store."""
        with self._sync_lock:
            try:
                manifest = json.loads((self.directory / _MANIFEST).read_text())
                saved_for = (manifest.get("format"), manifest.get("model"), manifest.get("dim"),
                             manifest.get("store_id"))
                if saved_for != (_FORMAT, self.model, self.dim, self.store_id):
                    return False
                vectors = np.load(self.directory / manifest["files"]["vectors"], allow_pickle=False)
                seqs = np.load(self.directory / manifest["files"]["seqs"], allow_pickle=False)
                count = int(manifest["count"])
                ok = (
                    vectors.dtype == np.float32
                    and seqs.dtype == np.int64
                    and vectors.shape == (count, self.dim)
                    and seqs.shape == (count,)
                    and zlib.crc32(vectors.tobytes()) == manifest["crc32"]["vectors"]
                    and zlib.crc32(seqs.tobytes()) == manifest["crc32"]["seqs"]
                    and (count == 0 or (seqs.min() >= 0 and len(np.unique(seqs)) == count))
                )
                watermark = int(manifest["watermark"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                return False
            if not ok:
                return False
            with self._lock:
                self._reset(count)
                self._reserve(count, int(seqs.max()) if count else 0)
                self._vectors[:count] = vectors  # saved normalised: no second pass
                self._seqs[:count] = seqs
                self._pos[seqs] = np.arange(count)
                self._n = count
                self.watermark = watermark
            return True
