"""One change-feed follower for every derived index.

The store appends a row to its change feed for every chunk inserted or deleted (``change_id`` grows in commit
order). A derived index remembers the last change it applied (its *watermark*) and catches up by reading the
feed after it. Both in-memory indexes do this the same way; only what a change carries differs (a vector for
the dense index, analysed text for BM25). So the loop lives here once, and an index implements
:class:`AppliesChanges`: where its changes come from (:meth:`~AppliesChanges.read_changes`) and how a batch of
them lands (:meth:`~AppliesChanges.apply_changes`).

:class:`IndexFollower` keeps a server's indexes caught up: after each ingested batch, on demand, and from a
background thread every ``retrieval.follow_interval_s`` (so a replica whose writes happen elsewhere catches up
without waiting for a query). It also measures the lag: how many change ids the slowest index is behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from ragd.store.base import ChangeFeed

log = logging.getLogger(__name__)

P = TypeVar("P")

#: one row of a change feed: ``(change_id, seq, op, payload)``; ``op`` is ``"add"`` or ``"del"``; the payload of
#: an ``add`` whose chunk is already gone is ``None``
Change = tuple[int, int, str, P | None]


@runtime_checkable
class AppliesChanges(Protocol[P]):
    """A derived index the follower can catch up."""

    watermark: int
    """The last change id applied."""

    def read_changes(self, feed: ChangeFeed, after: int, limit: int) -> Sequence[Change[P]]:
        """At most ``limit`` changes after ``after``, oldest first, with this index's payload."""

    def apply_changes(self, final: dict[int, P | None], watermark: int) -> None:
        """Make each seq present with its payload, or absent (``None``), and move the watermark; atomically with
        respect to searches."""


def catch_up(index: AppliesChanges[P], feed: ChangeFeed, batch: int = 10_000) -> int:
    """Apply every change after ``index.watermark``, ``batch`` at a time. Returns how many feed rows were read.

    Seqs are never reused, so within a batch the last change of a seq decides its state: an ``add`` with a
    payload means present, anything else (``del``, or an ``add`` whose chunk is already gone) means absent. The
    caller serialises catch-ups of one index (the watermark only moves forward)."""
    applied = 0
    while True:
        changes = index.read_changes(feed, index.watermark, batch)
        if not changes:
            return applied
        final: dict[int, P | None] = {}
        for _, seq, op, payload in changes:
            final[seq] = payload if op == "add" else None
        index.apply_changes(final, changes[-1][0])
        applied += len(changes)
        if len(changes) < batch:
            return applied


class Followed(Protocol):
    """What :class:`IndexFollower` needs of an index: its watermark and its own (locked) catch-up. An index may
    also say whether it is ``built`` yet (the in-memory BM25 index is built in the background)."""

    watermark: int

    def sync(self, store: ChangeFeed, batch: int = 10_000) -> int: ...


class IndexFollower:
    """Keeps a set of derived indexes caught up with one store's change feed.

    ``indexes`` is called each time (the composition root decides which indexes exist), ``lock`` serialises
    catch-ups with the caller's other index work (rebuilds, saves). An index not built yet counts in the lag (its
    watermark is 0) but is not caught up here."""

    def __init__(self, feed: ChangeFeed, indexes: Callable[[], Sequence[Followed]],
                 lock: threading.Lock | None = None) -> None:
        self._feed = feed
        self._indexes = indexes
        self._lock = lock or threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.start_change_id = feed.last_change_id()
        """The feed's head when the follower was made: readiness waits until every index has reached it."""

    def catch_up(self) -> int:
        """Catch every built index up now (one still being built, ``built`` false, is left to its builder, which
        catches up when done). Returns how many feed rows were applied."""
        with self._lock:
            return sum(index.sync(self._feed) for index in self._indexes() if getattr(index, "built", True))

    def watermark(self) -> int:
        """The lowest watermark of the indexes (the feed's head when there are none)."""
        marks = [index.watermark for index in self._indexes()]
        return min(marks) if marks else self._feed.last_change_id()

    def lag(self) -> int:
        """How many change ids the slowest index is behind the feed's head (0: caught up)."""
        head = self._feed.last_change_id()
        return max(0, head - self.watermark())

    def caught_up_to_start(self) -> bool:
        """Whether every index has applied the feed as it stood when the follower was made."""
        return self.watermark() >= self.start_change_id

    def start(self, interval_s: float) -> None:
        """Poll the feed every ``interval_s`` seconds on a daemon thread (until :meth:`stop`)."""
        if self._thread is not None or interval_s <= 0:
            return
        self._thread = threading.Thread(target=self._run, args=(interval_s,), name="ragd-index-follower",
                                        daemon=True)
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                if self.lag():
                    self.catch_up()
            except Exception:  # the store may be briefly unavailable: try again at the next tick
                if not self._stop.is_set():
                    log.exception("catching the derived indexes up with the change feed failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
