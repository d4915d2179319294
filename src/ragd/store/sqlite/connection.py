"""SQLite connections: one per thread, WAL mode, explicit transactions.

Every thread gets its own connection (``threading.local``), opened in autocommit mode so that transactions
are always explicit: :meth:`Database.write` runs ``BEGIN IMMEDIATE`` (takes the write lock up front, so two
writers never deadlock upgrading a read lock; others wait up to ``busy_timeout``), :meth:`Database.read` runs
a plain ``BEGIN`` for a consistent snapshot across several statements. Single statements need neither.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ragd.errors import ConfigurationError

BUSY_TIMEOUT_MS = 30_000


def path_from_url(url_or_path: str | Path) -> Path:
    """``sqlite:////abs/file.sqlite3`` → ``/abs/file.sqlite3``; ``sqlite:///rel.sqlite3`` → ``rel.sqlite3``;
    a plain path is returned as is."""
    text = str(url_or_path)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme.split("+", 1)[0] != "sqlite":
            raise ConfigurationError(f"not a SQLite URL: {text!r}")
        if not rest.startswith("/"):
            raise ConfigurationError(f"SQLite URL must look like sqlite:///path (got {text!r})")
        text = rest[1:]
    text = text.split("?", 1)[0]
    if not text or text == ":memory:":
        raise ConfigurationError("the SQLite store needs a file path (in-memory databases are not supported)")
    return Path(text)


class Database:
    """Hands each thread its own configured connection to one database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        # (owning thread, connection); connections of finished threads are closed when the next one opens.
        self._all: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._closed = False
        with self._lock:
            conn = self._open()
        conn.execute("PRAGMA journal_mode = WAL")

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -16384")
        live = []
        for owner, other in self._all:
            thread = owner()
            if thread is None or not thread.is_alive():
                other.close()
            else:
                live.append((owner, other))
        live.append((weakref.ref(threading.current_thread()), conn))
        self._all = live
        self._local.conn = conn
        return conn

    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the store is closed")
            return self._open()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any exception."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same snapshot."""
        conn = self.conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for _, conn in self._all:
                conn.close()
            self._all = []
            self._local = threading.local()
