"""The embedded lexical index: BM25 over the store's analysed text, held in memory, derived from the store.

The store stays the truth (its FTS5 table ``chunks_fts`` answers :meth:`Store.search_lexical`); this index is a
cache of the same analysed text (``chunks.lex``) that answers the same question without SQL. It exists for one
reason: a query that carries an access filter made FTS5 test every matching row against the chunk and document
tables (a few thousand row lookups per query at 10k chunks), while here a filter is one boolean mask over the
matches. Like :class:`~ragd.index.dense.DenseIndex` it remembers the last change-log id it applied and
catches up with :meth:`Store.lexical_changes_since` (the one follower loop, :mod:`ragd.index.follower`);
:meth:`LexicalIndex.rebuild` starts over from :meth:`Store.iter_lexical`. Nothing is saved to disk: it is
rebuilt when a process starts (0.6 s and 14 MB for 10k chunks on the 2-core reference machine;
``bench/ingest_and_latency.py`` reports both).

Scoring is FTS5's ``bm25()`` term for term, so both paths rank alike: tokens are split as FTS5's ``unicode61``
tokenizer splits them (letters and digits; the analysed text is already lowercased and accent-folded), with
k1 = 1.2, b = 0.75, document count and average length over the whole index, and per query term

    idf = ln((N - n + 0.5) / (n + 0.5)), or 1e-6 when that is not positive
    score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))

A query term the tokenizer splits in several tokens (``o'brien`` → ``o``, ``brien``) is an FTS5 phrase; here it
matches the chunks holding all its tokens, with the smallest of their frequencies (FTS5 also asks that they be
adjacent: the two can differ on such terms only).

Layout: a vocabulary (term → id) and, per term id, its postings as two growable ``array`` columns (chunk seq,
term frequency). Per seq, flat numpy arrays hold the token count and whether the chunk is live. A deleted chunk
only clears its live flag (seqs are never reused, so its postings can never come back to life); the postings of
dead chunks are dropped when they outnumber the live ones.
"""

from __future__ import annotations

import math
import re
import threading
from array import array
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ragd.index.follower import Change, catch_up
from ragd.store.base import ChangeFeed

K1 = 1.2
B = 0.75
_TOKEN = re.compile(r"[^\W_]+")  # unicode61: runs of letters and digits (categories L* and N*)
_STATE = ("_vocab", "_seqs", "_tfs", "_length", "_live", "_nterms", "_count", "_total", "_postings", "_dead")


def tokens(text: str) -> list[str]:
    """The tokens FTS5's ``unicode61`` tokenizer makes of accent-folded text (it folds case too)."""
    return _TOKEN.findall(text.lower())


class LexicalIndex:
    """``LexicalIndex()``: BM25 search over every live chunk's analysed text; call :meth:`sync` to catch up."""

    def __init__(self) -> None:
        self.watermark = 0
        self._built = False
        self._lock = threading.Lock()  # guards the structures below
        self._sync_lock = threading.RLock()  # serialises sync / rebuild so the watermark only moves forward
        self._reset()

    def _reset(self) -> None:
        self._vocab: dict[str, int] = {}
        self._seqs: list[array] = []  # per term id: chunk seqs (int32)
        self._tfs: list[array] = []  # per term id: frequencies (int32)
        self._length = np.zeros(1024, dtype=np.float64)  # per seq: token count
        self._live = np.zeros(1024, dtype=bool)  # per seq: present in the index
        self._nterms = np.zeros(1024, dtype=np.int32)  # per seq: distinct terms (postings it owns)
        self._count = 0  # live chunks
        self._total = 0.0  # tokens over the live chunks
        self._postings = 0  # postings held, live or dead
        self._dead = 0  # postings of deleted chunks

    def __len__(self) -> int:
        return self._count

    # -- changes ---------------------------------------------------------------------------------------------
    def _grow(self, seq: int) -> None:
        if seq < len(self._live):
            return
        size = max(seq + 1, len(self._live) + len(self._live) // 2)
        for name in ("_length", "_live", "_nterms"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _add(self, seq: int, lex: str) -> None:
        """Index one chunk (a seq already present is replaced). Caller holds ``_lock``."""
        if seq < 0:
            raise ValueError("seqs must be non-negative")
        self._remove(seq)
        self._grow(seq)
        toks = tokens(lex)
        counts = Counter(toks)
        vocab = self._vocab
        for term, tf in counts.items():
            tid = vocab.get(term)
            if tid is None:
                tid = vocab[term] = len(self._seqs)
                self._seqs.append(array("i"))
                self._tfs.append(array("i"))
            self._seqs[tid].append(seq)
            self._tfs[tid].append(tf)
        self._length[seq] = len(toks)
        self._live[seq] = True
        self._nterms[seq] = len(counts)
        self._count += 1
        self._total += len(toks)
        self._postings += len(counts)

    def _remove(self, seq: int) -> None:
        """Forget one chunk (absent seqs are ignored). Caller holds ``_lock``."""
        if seq >= len(self._live) or not self._live[seq]:
            return
        self._live[seq] = False
        self._count -= 1
        self._total -= float(self._length[seq])
        self._dead += int(self._nterms[seq])
        if self._dead * 2 > self._postings:
            self._compact()

    def _compact(self) -> None:
        """Drop the postings of deleted chunks. Caller holds ``_lock``."""
        for tid in range(len(self._seqs)):
            seqs = np.frombuffer(self._seqs[tid], dtype=np.int32).copy()
            keep = self._live[seqs]
            if keep.all():
                continue
            tfs = np.frombuffer(self._tfs[tid], dtype=np.int32).copy()
            self._seqs[tid] = array("i", seqs[keep].tobytes())
            self._tfs[tid] = array("i", tfs[keep].tobytes())
        self._postings -= self._dead
        self._dead = 0

    def add(self, seq: int, lex: str) -> None:
        with self._lock:
            self._add(int(seq), lex)

    def remove(self, seq: int) -> None:
        with self._lock:
            self._remove(int(seq))

    # -- catching up with the store --------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        """True once a first :meth:`rebuild` (or :meth:`sync`) has loaded the store."""
        return self._built

    def sync(self, store: ChangeFeed, batch: int = 10_000) -> int:
        """Apply the store's changes after the watermark (the first call loads every live chunk with
        :meth:`rebuild` instead of replaying the whole log; then :func:`ragd.index.follower.catch_up`). Returns
        how many change-log rows were applied."""
        with self._sync_lock:
            if not self._built:
                self.rebuild(store)
            return catch_up(self, store, batch)

    def read_changes(self, feed: ChangeFeed, after: int, limit: int) -> list[Change[str]]:
        return feed.lexical_changes_since(after, limit)

    def apply_changes(self, final: dict[int, str | None], watermark: int) -> None:
        with self._lock:
            for seq, lex in final.items():
                if lex is None:
                    self._remove(seq)
                else:
                    self._add(seq, lex)
            self.watermark = watermark

    def try_sync(self, store: ChangeFeed) -> bool:
        """:meth:`sync` unless another thread is syncing or building (then return False at once)."""
        if not self._sync_lock.acquire(blocking=False):
            return False
        try:
            self.sync(store)
            return True
        finally:
            self._sync_lock.release()

    def rebuild(self, store: ChangeFeed) -> int:
        """Start over from every live chunk in the store, then catch up. Returns the number of chunks."""
        with self._sync_lock:
            watermark = store.last_change_id()  # read first: what changes while we copy is replayed by sync
            fresh = LexicalIndex()
            for rows in store.iter_lexical():
                for seq, lex in rows:
                    fresh._add(seq, lex)
            with self._lock:
                for name in _STATE:
                    setattr(self, name, getattr(fresh, name))
                self.watermark = watermark
                self._built = True
            self.sync(store)
            return self._count

    # -- search ----------------------------------------------------------------------------------------------
    def _postings_of(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Live ``(seqs, tfs)`` of a query term: one token's postings, or a phrase's chunks holding every token
        (frequency: the smallest). Caller holds ``_lock``."""
        found: tuple[np.ndarray, np.ndarray] | None = None
        for tok in tokens(term) or [""]:
            tid = self._vocab.get(tok)
            if tid is None:
                return np.empty(0, np.int32), np.empty(0, np.int32)
            seqs = np.frombuffer(self._seqs[tid], dtype=np.int32).copy()
            tfs = np.frombuffer(self._tfs[tid], dtype=np.int32).copy()
            live = self._live[seqs]
            seqs, tfs = seqs[live], tfs[live]
            if found is None:
                found = (seqs, tfs)
            else:
                both, a, b = np.intersect1d(found[0], seqs, assume_unique=True, return_indices=True)
                found = (both, np.minimum(found[1][a], tfs[b]))
        assert found is not None
        return found

    def search(
        self, terms: Sequence[str], k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best chunks for ``terms`` (OR; a repeated term weighs again) as ``(seq, score)``, best first,
        ties by seq; among the seqs where the boolean mask ``allowed`` is true (indexed by seq) if given."""
        if k <= 0 or not terms:
            return []
        with self._lock:
            n_docs = self._count
            if n_docs == 0:
                return []
            avglen = self._total / n_docs
            seq_parts: list[np.ndarray] = []
            score_parts: list[np.ndarray] = []
            for term in terms:
                seqs, tfs = self._postings_of(term)
                hits = len(seqs)
                if hits == 0:
                    continue
                idf = math.log((n_docs - hits + 0.5) / (hits + 0.5))
                if idf <= 0.0:
                    idf = 1e-6
                f = tfs.astype(np.float64)
                length = self._length[seqs]
                seq_parts.append(seqs)
                score_parts.append(idf * (f * (K1 + 1.0)) / (f + K1 * (1 - B + B * length / avglen)))
        if not seq_parts:
            return []
        matched, where = np.unique(np.concatenate(seq_parts), return_inverse=True)
        scores = np.bincount(where, weights=np.concatenate(score_parts), minlength=len(matched))
        if allowed is not None:
            mask = np.zeros(len(matched), dtype=bool)
            inside = matched < len(allowed)
            mask[inside] = allowed[matched[inside]]
            matched, scores = matched[mask], scores[mask]
        if len(matched) > k:
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            top = scores >= kth  # every tie of the k-th score, so that seq order settles ties as FTS5 does
            matched, scores = matched[top], scores[top]
        order = np.lexsort((matched, -scores))[:k]
        return [(int(s), float(v)) for s, v in zip(matched[order], scores[order], strict=True)]
