"""The SQLite backend: one database file, one connection pool (:mod:`ragd.store.sqlite.connection`), one
migration chain (:mod:`ragd.store.sqlite.schema`), and the ports over them. Originals stay files under the data
directory (:attr:`blobs` is ``None``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from ragd.errors import StoreUnavailable
from ragd.store.sqlite import schema
from ragd.store.sqlite.connection import Database
from ragd.store.url import sqlite_path

if TYPE_CHECKING:
    from ragd.audit.base import AuditLog
    from ragd.audit.signing import AuditSigner
    from ragd.store.sqlite.conversations import SqliteConversationStore
    from ragd.store.sqlite.identities import SqliteIdentityStore
    from ragd.store.sqlite.store import SqliteStore


class SqliteBackend:
    engine = "sqlite"
    blobs = None

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._db = Database(self.path)
        self._ports: list[object] = []

    def __repr__(self) -> str:
        return f"SqliteBackend({str(self.path)!r})"

    def _port(self, port: object) -> object:
        self._ports.append(port)
        return port

    @cached_property
    def store(self) -> SqliteStore:
        from ragd.store.sqlite.store import SqliteStore

        return self._port(SqliteStore(self.path))  # type: ignore[return-value]

    @cached_property
    def identities(self) -> SqliteIdentityStore:
        from ragd.store.sqlite.identities import SqliteIdentityStore

        return self._port(SqliteIdentityStore(self.path))  # type: ignore[return-value]

    @cached_property
    def conversations(self) -> SqliteConversationStore:
        from ragd.store.sqlite.conversations import SqliteConversationStore

        return self._port(SqliteConversationStore(self.path))  # type: ignore[return-value]

    def audit_log(self, signer: AuditSigner | None) -> AuditLog:
        from ragd.audit.sqlite import SqliteAuditLog

        return self._port(SqliteAuditLog(self.path, signer))  # type: ignore[return-value]

    def migrate(self) -> int:
        return self._db.migrate(schema.migrate)

    def schema_status(self) -> tuple[int, int]:
        """``(version of the database's schema, latest version this ragd knows)``."""
        with self._db.connection() as conn:
            return schema.schema_version(conn), len(schema.MIGRATIONS)

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        # every port over this file shares the process's pool for it, and a thread inside a write transaction
        # gets the same connection back from any port: their statements join this transaction
        with self._db.write():
            yield

    def ping(self) -> None:
        try:
            self._db.conn().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the SQLite database {self.path} cannot be read: {exc}") from exc

    def close(self) -> None:
        for port in reversed(self._ports):
            port.close()  # type: ignore[attr-defined]
        self._ports.clear()
        self._db.close()
