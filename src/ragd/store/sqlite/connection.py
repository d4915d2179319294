"""SQLite connections: one bounded pool per database file, WAL mode, explicit transactions.

Every port over one file (store, identities, conversations, audit log, the doctor's inspector) holds a
:class:`Database` handle on the same process-wide :class:`_Pool` for that file, so the process keeps at most
:data:`POOL_SIZE` connections to it however many threads serve requests (FastAPI's thread pool alone has 40):
each connection carries a page cache of its own, and one per thread per port grew a server by ~850 MB under 32
clients. A thread takes a connection for one statement (:meth:`Database.conn`), one transaction
(:meth:`Database.read`, :meth:`Database.write`) or a block (:meth:`Database.connection`) and gives it back at the
end; a thread that already holds one (inside a transaction) gets that same connection again, so a nested call
sees the transaction's writes and never waits for a second connection.

Connections autocommit, so transactions are always explicit: :meth:`Database.write` runs ``BEGIN IMMEDIATE``
(takes the write lock up front, so two writers never deadlock upgrading a read lock; others wait up to
``busy_timeout``) after taking this process's writer lock (SQLite has one writer anyway: threads queue on a lock
instead of holding pooled connections while they poll for SQLite's), :meth:`Database.read` runs a plain
``BEGIN`` for a consistent snapshot across several statements. Single statements need neither.

The database file is created with mode 0600 (its ``-wal`` and ``-shm`` files take the same mode from SQLite),
an existing one open to other users is tightened (:mod:`ragd.security.filemodes`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ragd.security.filemodes import private_sqlite_file
from ragd.store.backend import PoolUsage
from ragd.store.url import sqlite_path

BUSY_TIMEOUT_MS = 30_000
POOL_SIZE = 8
"""Connections per database file per process: enough for the reads two to eight cores run at once (SQLite
readers do not block each other in WAL mode; writers queue on one lock whatever the pool size)."""
CACHE_KIB = 8192
"""Page cache per connection (``PRAGMA cache_size``): at most ``POOL_SIZE × CACHE_KIB`` per file."""
CHECKOUT_TIMEOUT_S = 120.0
T = TypeVar("T")


def path_from_url(url_or_path: str | Path) -> Path:
    """The SQLite file of a URL or plain path (:func:`ragd.store.url.sqlite_path`, the one parser)."""
    return sqlite_path(url_or_path)


class _Pool:
    """Up to ``size`` connections to one file, shared by every thread and every :class:`Database` handle."""

    _registry: ClassVar[dict[Path, _Pool]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path, size: int, key: Path) -> None:
        self.path = path
        self.key = key
        self.size = size
        self.refs = 0
        self.opened = 0
        self.waiting = 0  # threads waiting in take()
        self.idle: list[sqlite3.Connection] = []  # LIFO: the most recently used connection has the warmest cache
        self.cond = threading.Condition()
        self.write_lock = threading.RLock()
        self._held = threading.local()  # the connection this thread holds, if any
        self.closed = False
        private_sqlite_file(path)  # 0600 before SQLite creates it: the WAL and SHM files copy the database's mode
        conn = self._open()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            self.give_back(conn)

    @classmethod
    def acquire(cls, path: Path, size: int = POOL_SIZE) -> _Pool:
        key = path.resolve()
        with cls._registry_lock:
            pool = cls._registry.get(key)
            if pool is None:
                pool = cls._registry[key] = _Pool(path, size, key)
            pool.refs += 1
            return pool

    def release(self) -> None:
        with self._registry_lock:
            self.refs -= 1
            if self.refs > 0:
                return
            if self._registry.get(self.key) is self:
                del self._registry[self.key]
        with self.cond:
            self.closed = True
            for conn in self.idle:
                conn.close()
            self.opened -= len(self.idle)
            self.idle = []
            self.cond.notify_all()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self.opened += 1
        return conn

    def take(self) -> sqlite3.Connection:
        with self.cond:
            self.waiting += 1
            try:
                ok = self.cond.wait_for(lambda: self.closed or self.idle or self.opened < self.size,
                                        CHECKOUT_TIMEOUT_S)
            finally:
                self.waiting -= 1
            if self.closed:
                raise sqlite3.ProgrammingError("the store is closed")
            if not ok:
                raise sqlite3.OperationalError(
                    f"no free connection to {self.path.name} after {CHECKOUT_TIMEOUT_S:.0f} s ({self.size} in use)"
                )
            if self.idle:
                return self.idle.pop()
            return self._open()

    def usage(self) -> PoolUsage:
        with self.cond:
            idle = len(self.idle)
            return PoolUsage(in_use=self.opened - idle, idle=idle, max=self.size, waiting=self.waiting)

    @contextmanager
    def writer(self) -> Iterator[None]:
        """This process's writer lock, waited for as long as SQLite's own (``busy_timeout``), with its error."""
        if not self.write_lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked (another writer of this process held it too long)")
        try:
            yield
        finally:
            self.write_lock.release()

    def holding(self) -> bool:
        """Whether this thread holds one of the pool's connections now."""
        return getattr(self._held, "conn", None) is not None

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        held: sqlite3.Connection | None = getattr(self._held, "conn", None)
        if held is not None:
            yield held
            return
        conn = self.take()
        self._held.conn = conn
        try:
            yield conn
        finally:
            self._held.conn = None
            self.give_back(conn)

    def give_back(self, conn: sqlite3.Connection) -> None:
        broken = False
        if conn.in_transaction:  # never hand a connection on in the middle of a transaction
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                broken = True
        with self.cond:
            if self.closed or broken:
                conn.close()
                self.opened -= 1
            else:
                self.idle.append(conn)
            self.cond.notify()


class Rows:
    """The materialised result of one pooled statement: ``fetchone``, ``fetchall``, iteration, ``rowcount``,
    ``lastrowid`` as on a cursor (the connection went back to the pool before this was returned)."""

    __slots__ = ("_next", "_rows", "description", "lastrowid", "rowcount")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._rows: list[Any] = cursor.fetchall()
        self._next = 0
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self.description = cursor.description

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class Statements:
    """What :meth:`Database.conn` returns: ``execute``/``executemany`` each on a pooled connection (this thread's
    own while it holds one), returning :class:`Rows`."""

    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Rows:
        with self._db.connection() as conn:
            return Rows(conn.execute(sql, params))

    def executemany(self, sql: str, rows: Any) -> Rows:
        with self._db.connection() as conn:
            return Rows(conn.executemany(sql, rows))


class Database:
    """One port's handle on the pooled connections to a database file (``path`` or a SQLite URL)."""

    def __init__(self, path: Path | str) -> None:
        self.path = sqlite_path(path)
        self._pool = _Pool.acquire(self.path)
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for the block: the one this thread already holds (through any port over the same file),
        else one from the pool, given back at the end."""
        if self._closed:
            raise sqlite3.ProgrammingError("the store is closed")
        with self._pool.connection() as conn:
            yield conn

    def conn(self) -> Statements:
        """Single statements, each on a pooled connection (joining this thread's transaction if it is in one)."""
        if self._closed:
            raise sqlite3.ProgrammingError("the store is closed")
        return Statements(self)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any exception. Inside a
        transaction this thread already runs, a savepoint of it instead."""
        if self._closed:
            raise sqlite3.ProgrammingError("the store is closed")
        # The process's writers queue on a lock before they take a connection (they would only poll SQLite's
        # lock while holding one); a thread already holding a connection never waits for the lock or the pool.
        lock = contextlib.nullcontext() if self._pool.holding() else self._pool.writer()
        with lock, self._pool.connection() as conn:
            nested = conn.in_transaction
            conn.execute("SAVEPOINT nested" if nested else "BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if nested:
                    conn.execute("ROLLBACK TO nested")
                    conn.execute("RELEASE nested")
                elif conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("RELEASE nested" if nested else "COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same snapshot (inside a transaction this thread
        already runs, that transaction's)."""
        with self.connection() as conn:
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def migrate(self, apply: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``apply(connection)`` (a schema migration, which manages its own transaction) on one connection."""
        with self._pool.writer(), self.connection() as conn:
            return apply(conn)

    def open_connections(self) -> int:
        """How many connections the pool behind this handle holds open (idle or in use)."""
        return self._pool.opened

    def pool_usage(self) -> PoolUsage:
        """The pool behind this handle, now: connections in use and idle, its size, threads waiting."""
        return self._pool.usage()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.release()
