"""Per-filter values that hold until the store changes: the retriever's allowed-seqs mask and present languages.

A value is computed from the store for one set of access filters (every query of a non-admin user carries one)
and is valid while the store's last change id stays the same. Entries are kept per filter (``repr`` of the
filters), least recently used evicted past :data:`SIZE`; a value computed for an older version never replaces
one computed for a newer."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

SIZE = 256


class FilterCache(Generic[T]):
    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[int, T]] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> tuple[int, T]:
        """The ``(version, value)`` entry of ``key`` (for inspection)."""
        with self._lock:
            return self._entries[key]

    def get(self, key: str, version: int, compute: Callable[[], T]) -> T:
        """The value of ``key`` at store ``version``: cached, or ``compute()`` (called without the lock held)."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == version:
                self._entries.move_to_end(key)
                return hit[1]
        value = compute()
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or hit[0] <= version:
                self._entries[key] = (version, value)
                self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value
