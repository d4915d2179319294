"""The SQLite backend: one database file, one connection pool (:mod:`ragd.store.sqlite.connection`), one
migration chain (:mod:`ragd.store.sqlite.schema`), and the ports over them. Originals stay files under the data
directory (:attr:`blobs` is ``None``)."""

from __future__ import annotations

import sqlite3
from functools import cached_property
from typing import TYPE_CHECKING

from ragd.errors import StoreUnavailable
from ragd.store.backend import PoolUsage
from ragd.store.backend_base import BackendBase
from ragd.store.sqlite import schema
from ragd.store.sqlite.connection import Database
from ragd.store.url import sqlite_path

if TYPE_CHECKING:
    from ragd.audit.base import AuditLog
    from ragd.audit.signing import AuditSigner
    from ragd.store.sqlite.conversations import SqliteConversationStore
    from ragd.store.sqlite.identities import SqliteIdentityStore
    from ragd.store.sqlite.store import SqliteStore


class SqliteBackend(BackendBase):
    engine = "sqlite"
    blobs = None

    _schema = schema

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.path = sqlite_path(url)
        self._db = Database(self.path)

    def __repr__(self) -> str:
        return f"SqliteBackend({str(self.path)!r})"

    @cached_property
    def store(self) -> SqliteStore:
        from ragd.store.sqlite.store import SqliteStore

        return self._port(SqliteStore(self.path))

    @cached_property
    def identities(self) -> SqliteIdentityStore:
        from ragd.store.sqlite.identities import SqliteIdentityStore

        return self._port(SqliteIdentityStore(self.path))

    @cached_property
    def conversations(self) -> SqliteConversationStore:
        from ragd.store.sqlite.conversations import SqliteConversationStore

        return self._port(SqliteConversationStore(self.path))

    def audit_log(self, signer: AuditSigner | None) -> AuditLog:
        from ragd.audit.sqlite import SqliteAuditLog

        return self._port(SqliteAuditLog(self.path, signer))

    def ping(self) -> None:
        try:
            self._db.conn().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the SQLite database {self.path} cannot be read: {exc}") from exc

    def pool_usage(self) -> PoolUsage:
        return self._db.pool_usage()
