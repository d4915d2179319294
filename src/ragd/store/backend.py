"""The storage backend: one object per store URL, chosen once in the composition root.

A :class:`Backend` owns what every port over one database shares — the connection pool, the migration chain and
the unit of work — and hands out the ports (:attr:`Backend.store`, :attr:`Backend.identities`,
:attr:`Backend.conversations`, :meth:`Backend.audit_log`, :attr:`Backend.blobs`). It is picked by the URL's
scheme from :data:`BACKENDS` (the only registry of storage engines); after that, callers only delegate to it, the
way a client library picks its local or remote implementation once::

    backend = open_backend("postgresql://ragd@db/ragd")      # or sqlite:////srv/ragd/ragd.sqlite3
    with backend.unit_of_work():                              # one transaction across ports
        backend.store.delete_document(doc_id)
        backend.audit_log(signer).append(...)

Every port's method run inside :meth:`Backend.unit_of_work` on the same thread joins that one transaction (a
nested unit of work is a savepoint), so an operation that spans ports commits or rolls back as a whole.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ragd.errors import ConfigurationError
from ragd.store.url import scheme_of

if TYPE_CHECKING:
    from ragd.audit.base import AuditLog
    from ragd.audit.signing import AuditSigner
    from ragd.auth.identities import IdentityStore
    from ragd.store.base import Store
    from ragd.store.blobs import BlobStore
    from ragd.store.conversations import ConversationStore


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """The state of this process's connection pool to the database, now (metrics: ``ragd_db_pool_*``)."""

    #: connections lent to threads (a statement, a transaction)
    in_use: int
    #: connections open and idle in the pool
    idle: int
    #: the most connections the pool opens; a thread asking for one more waits
    max: int
    #: threads waiting for a connection now
    waiting: int


@runtime_checkable
class Backend(Protocol):
    """One database behind every storage port."""

    #: the URL it was opened with (for messages: use :func:`ragd.store.url.masked` to print it)
    url: str
    #: ``"sqlite"`` or ``"postgresql"``
    engine: str

    @property
    def store(self) -> Store: ...

    @property
    def identities(self) -> IdentityStore: ...

    @property
    def conversations(self) -> ConversationStore: ...

    @property
    def blobs(self) -> BlobStore | None:
        """Where uploaded originals live when the database holds them (PostgreSQL), else ``None`` (files on disk
        under the data directory)."""

    def audit_log(self, signer: AuditSigner | None) -> AuditLog:
        """The audit log over this database; ``signer=None`` opens it read-only (verification with a public
        key alone)."""

    def migrate(self) -> int:
        """Create or upgrade the whole schema (every port's tables) in one transaction; returns how many
        migrations ran. Idempotent, safe when several processes start at once."""

    def schema_status(self) -> tuple[int, int]:
        """``(version of the database's schema, latest version this ragd knows)``: equal once migrated."""

    def unit_of_work(self) -> AbstractContextManager[None]:
        """A transaction every port joins on this thread: committed when the block ends, rolled back on an
        exception."""

    def ping(self) -> None:
        """Raise :class:`ragd.errors.StoreUnavailable` unless the database answers now (readiness)."""

    def pool_usage(self) -> PoolUsage:
        """This process's connection pool to the database, now (never blocks, never touches the database)."""

    def close(self) -> None:
        """Close every port and the pool. The backend is unusable afterwards."""


def _sqlite(url: str) -> Backend:
    from ragd.store.sqlite.backend import SqliteBackend

    return SqliteBackend(url)


def _postgresql(url: str) -> Backend:
    from ragd.store.postgres.backend import PostgresBackend

    return PostgresBackend(url)


#: URL scheme → factory. The factory imports its engine lazily, so the PostgreSQL driver (``ragd[postgres]``) is
#: needed only when a ``postgresql://`` URL is used.
BACKENDS: dict[str, Callable[[str], Backend]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
    "postgres": _postgresql,
}


def open_backend(url: str, *, migrate: bool = True) -> Backend:
    """The backend for ``url`` (a plain path means SQLite), its schema created or upgraded unless
    ``migrate=False``."""
    scheme = scheme_of(url)
    factory = BACKENDS.get(scheme)
    if factory is None:
        known = ", ".join(sorted(BACKENDS))
        raise ConfigurationError(f"no storage backend for URL scheme {scheme!r} (known: {known})")
    backend = factory(url)
    if migrate:
        try:
            backend.migrate()
        except BaseException:
            backend.close()
            raise
    return backend


STORE_ID_KEY = "store_id"


def store_identity(backend: Backend) -> str:
    """The store's identity: a random id kept in its meta (key :data:`STORE_ID_KEY`), created the first time a
    server opens it. A derived index saved on disk names the store it was built from, so a data directory reused
    with another database rebuilds it instead of applying that database's change ids to foreign vectors.

    Created inside a unit of work that reads again before it writes: SQLite serialises the writers, so two
    processes starting at once agree. (On PostgreSQL two first starts racing may each write an id, the last one
    stays; a process holding the other rebuilds its dense index once at its next start: harmless.)"""
    store = backend.store
    found = store.get_meta(STORE_ID_KEY)
    if found:
        return found
    with backend.unit_of_work():
        found = store.get_meta(STORE_ID_KEY)
        if not found:
            found = secrets.token_hex(16)
            store.set_meta(STORE_ID_KEY, found)
    return found


def iter_engines() -> Iterator[str]:
    """The engines ragd ships (for ``ragd doctor`` and the docs)."""
    yield from ("sqlite", "postgresql")


__all__ = ["BACKENDS", "STORE_ID_KEY", "Backend", "PoolUsage", "open_backend", "store_identity"]
