"""PostgreSQL connections: one pool per URL per process, explicit transactions, the same shape as
:mod:`ragd.store.sqlite.connection` so every port reads the same way on both engines.

A thread takes a connection for one statement (:meth:`Database.conn`), one transaction (:meth:`Database.read`,
:meth:`Database.write`) or a block (:meth:`Database.connection`) and gives it back at the end; a thread that
already holds one (inside a transaction, through any port of the same backend) gets that same connection again,
so a nested call joins the transaction (a nested :meth:`Database.write` is a savepoint) and never waits for a
second connection. Connections autocommit outside those blocks.

Errors that mean "the database is not there" (connection refused or lost, server shutting down, pool exhausted
past its timeout) become :class:`ragd.errors.StoreUnavailable` (HTTP 503 with ``Retry-After``); the pool
reconnects on the next call, with backoff, by itself.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import psycopg
import psycopg_pool
from pgvector.psycopg import register_vector

from ragd.errors import ConfigurationError, StoreUnavailable
from ragd.store.backend import PoolUsage
from ragd.store.url import libpq_url, masked

POOL_SIZE = 10
"""Connections per URL per process: FastAPI's thread pool queues on it; ``max_connections`` of the server must
cover ``replicas × (POOL_SIZE + workers)`` (docs/scaling.md)."""
CONNECT_TIMEOUT_S = 10
CHECKOUT_TIMEOUT_S = 30.0

_UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed)
OUTAGE_CHECKOUT_TIMEOUT_S = 1.0
"""While the database was unreachable less than :data:`OUTAGE_MEMORY_S` ago, a request waits this long for a
connection (then answers 503 with Retry-After) instead of :data:`CHECKOUT_TIMEOUT_S`: during an outage clients get
a quick, honest answer while the pool reconnects in the background (with backoff)."""
OUTAGE_MEMORY_S = 10.0


def unavailable(url: str, exc: BaseException) -> StoreUnavailable:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreUnavailable(f"PostgreSQL at {masked(url)} is unavailable: {first}")


def to_array(value: Any) -> np.ndarray:
    """A pgvector value as read back (pgvector's ``Vector``) as a float32 array."""
    arr = value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)
    return np.ascontiguousarray(arr, dtype=np.float32)


def _configure(conn: psycopg.Connection[Any]) -> None:
    # the extension is created by the first migration; the pool's connections are replaced after it
    with contextlib.suppress(psycopg.ProgrammingError):
        register_vector(conn)


class _Pool:
    """The process's pool for one URL, shared by every :class:`Database` handle (every port) on it."""

    _registry: ClassVar[dict[str, _Pool]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.refs = 0
        self.held = threading.local()
        self.failed_at = 0.0  # monotonic time of the last "database unavailable" error (0: none)
        self.lent = 0  # connections checked out of the pool by threads now (metrics)
        self._lent_lock = threading.Lock()
        self.pool = psycopg_pool.ConnectionPool(
            libpq_url(url), min_size=1, max_size=size, open=False, timeout=CHECKOUT_TIMEOUT_S,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S,
                    "application_name": "ragd"},
            configure=_configure, check=psycopg_pool.ConnectionPool.check_connection,
            # a lost connection is replaced in the background, retried with backoff (1, 2, 4… s) for as long as a
            # checkout may wait: a statement waiting through a short outage gets a connection once the database is
            # back (psycopg_pool's 0 gives up after a second try, leaving the waiters to time out)
            reconnect_timeout=CHECKOUT_TIMEOUT_S,
            name=masked(url),
        )

    @classmethod
    def acquire(cls, url: str, size: int = POOL_SIZE) -> _Pool:
        with cls._registry_lock:
            pool = cls._registry.get(url)
            if pool is None:
                try:  # one direct attempt first: a refused or unknown server fails now, not after the pool's wait
                    psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S).close()
                except _UNAVAILABLE as exc:
                    raise unavailable(url, exc) from exc
                pool = _Pool(url, size)
                try:
                    pool.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
                except _UNAVAILABLE as exc:
                    pool.pool.close()
                    raise unavailable(url, exc) from exc
                cls._registry[url] = pool
            pool.refs += 1
            return pool

    def release(self) -> None:
        with self._registry_lock:
            self.refs -= 1
            if self.refs <= 0:
                self._registry.pop(self.url, None)
                self.pool.close()

    def holding(self) -> psycopg.Connection[Any] | None:
        return getattr(self.held, "conn", None)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        held = self.holding()
        if held is not None:
            yield held
            return
        recent = self.failed_at and time.monotonic() - self.failed_at < OUTAGE_MEMORY_S
        try:
            cm = self.pool.connection(timeout=OUTAGE_CHECKOUT_TIMEOUT_S if recent else CHECKOUT_TIMEOUT_S)
            conn = cm.__enter__()
        except _UNAVAILABLE as exc:
            self.failed_at = time.monotonic()
            raise unavailable(self.url, exc) from exc
        self.failed_at = 0.0
        self.held.conn = conn
        self._count_lent(+1)
        try:
            yield conn
        except _UNAVAILABLE as exc:
            self.held.conn = None
            self.failed_at = time.monotonic()
            with contextlib.suppress(*_UNAVAILABLE):
                cm.__exit__(type(exc), exc, exc.__traceback__)
            raise unavailable(self.url, exc) from exc
        except BaseException as exc:
            self.held.conn = None
            if isinstance(exc, StoreUnavailable):  # a commit that failed in Database.write
                self.failed_at = time.monotonic()
            cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        finally:
            self._count_lent(-1)
        self.held.conn = None
        cm.__exit__(None, None, None)

    def _count_lent(self, delta: int) -> None:
        with self._lent_lock:
            self.lent += delta


class Rows:
    """A statement's result, fetched at once (the connection goes back to the pool before the caller reads)."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.rowcount = cursor.rowcount
        self._rows: list[Any] = cursor.fetchall() if cursor.description is not None else []

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class Statements:
    """What :meth:`Database.conn` returns: ``execute``/``executemany`` each on a pooled connection (this thread's
    own while it holds one). Parameters use psycopg's ``%s`` / ``%(name)s`` placeholders."""

    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Rows:
        with self._db.connection() as conn:
            return Rows(conn.execute(sql, params))  # type: ignore[call-overload]

    def executemany(self, sql: str, rows: Any) -> Rows:
        with self._db.connection() as conn, conn.cursor() as cur:
            cur.executemany(sql, rows)  # type: ignore[call-overload]
            return Rows(cur)


class Database:
    """One port's handle on the pooled connections to a PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool = _Pool.acquire(url)
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise ConfigurationError("the store is closed")

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The connection this thread already holds (through any port over the same URL), else one from the
        pool, given back at the end."""
        self._check()
        with self._pool.connection() as conn:
            yield conn

    def conn(self) -> Statements:
        self._check()
        return Statements(self)

    @contextmanager
    def write(self) -> Iterator[psycopg.Connection[Any]]:
        """A transaction (READ COMMITTED; writers that must serialise take row or advisory locks): committed on
        success, rolled back on any exception. Inside a transaction this thread already runs, a savepoint."""
        with self.connection() as conn:
            try:
                with conn.transaction():
                    yield conn
            except _UNAVAILABLE as exc:
                raise unavailable(self.url, exc) from exc

    @contextmanager
    def read(self) -> Iterator[psycopg.Connection[Any]]:
        """A REPEATABLE READ transaction: every statement inside sees the same snapshot (inside a transaction
        this thread already runs, that transaction's)."""
        with self.connection() as conn:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                yield conn
                return
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield conn

    def migrate(self, apply: Callable[[psycopg.Connection[Any]], int]) -> int:
        """Run ``apply(connection)`` (a schema migration, which manages its own transaction) on a connection of
        its own; when it changed the schema, the pooled connections are replaced (they register the pgvector type
        when they open, so one opened before the extension existed would read vectors as text)."""
        self._check()
        try:
            with psycopg.connect(libpq_url(self.url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                ran = apply(conn)
        except _UNAVAILABLE as exc:
            raise unavailable(self.url, exc) from exc
        if ran:
            self._pool.pool.drain()
        return ran

    def ping(self) -> None:
        self.conn().execute("SELECT 1")

    def pool_stats(self) -> dict[str, int]:
        """psycopg_pool's counters (``pool_size``, ``pool_available``, ``requests_waiting``…) for metrics."""
        return dict(self._pool.pool.get_stats())

    def pool_usage(self) -> PoolUsage:
        """The pool behind this handle, now: the connections this process's threads hold (counted here:
        psycopg_pool's ``pool_size`` also counts connections still being opened), and psycopg_pool's idle ones,
        maximum and waiting requests."""
        stats = self._pool.pool.get_stats()
        return PoolUsage(in_use=self._pool.lent, idle=stats.get("pool_available", 0),
                         max=stats.get("pool_max", self._pool.pool.max_size), waiting=stats.get("requests_waiting", 0))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.release()
