"""The derived indexes: in-memory caches of the store, rebuilt or caught up from its change feed.

They are not stores (the store is the truth; losing them loses nothing): :class:`~ragd.index.dense.DenseIndex`
(exact cosine over the vectors, saved under ``DATA_DIR/index``) and :class:`~ragd.index.lexical.LexicalIndex`
(BM25 over the analysed text, in memory only). Both catch up through the one follower loop of
:mod:`ragd.index.follower`.
"""

from __future__ import annotations

from ragd.index.dense import DenseIndex
from ragd.index.follower import AppliesChanges, IndexFollower, catch_up
from ragd.index.lexical import LexicalIndex

__all__ = ["AppliesChanges", "DenseIndex", "IndexFollower", "LexicalIndex", "catch_up"]
