"""The PostgreSQL backend: one pool per URL (:mod:`ragd.store.postgres.connection`), one migration chain
(:mod:`ragd.store.postgres.schema`), and the ports over them, originals included (:attr:`blobs`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from ragd.store.postgres import schema
from ragd.store.postgres.connection import Database
from ragd.store.url import masked

if TYPE_CHECKING:
    from ragd.audit.base import AuditLog
    from ragd.audit.signing import AuditSigner
    from ragd.auth.identities import IdentityStore
    from ragd.store.base import Store
    from ragd.store.blobs import BlobStore
    from ragd.store.conversations import ConversationStore


class PostgresBackend:
    engine = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Database(url)
        self._ports: list[object] = []

    def __repr__(self) -> str:
        return f"PostgresBackend({masked(self.url)!r})"

    def _port(self, port: object) -> object:
        self._ports.append(port)
        return port

    @cached_property
    def store(self) -> Store:
        from ragd.store.postgres.store import PostgresStore

        return self._port(PostgresStore(self.url))  # type: ignore[return-value]

    @cached_property
    def identities(self) -> IdentityStore:
        from ragd.store.postgres.identities import PostgresIdentityStore

        return self._port(PostgresIdentityStore(self.url))  # type: ignore[return-value]

    @cached_property
    def conversations(self) -> ConversationStore:
        from ragd.store.postgres.conversations import PostgresConversationStore

        return self._port(PostgresConversationStore(self.url))  # type: ignore[return-value]

    @cached_property
    def blobs(self) -> BlobStore:
        from ragd.store.postgres.blobs import PostgresBlobStore

        return self._port(PostgresBlobStore(self.url))  # type: ignore[return-value]

    def audit_log(self, signer: AuditSigner | None) -> AuditLog:
        from ragd.audit.postgres import PostgresAuditLog

        return self._port(PostgresAuditLog(self.url, signer))  # type: ignore[return-value]

    def migrate(self) -> int:
        return self._db.migrate(schema.migrate)

    def schema_status(self) -> tuple[int, int]:
        """``(version of the database's schema, latest version this ragd knows)``."""
        with self._db.connection() as conn:
            return schema.schema_version(conn), len(schema.MIGRATIONS)

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        with self._db.write():
            yield

    def ping(self) -> None:
        self._db.ping()

    def pool_stats(self) -> dict[str, int]:
        return self._db.pool_stats()

    def close(self) -> None:
        for port in reversed(self._ports):
            port.close()  # type: ignore[attr-defined]
        self._ports.clear()
        self._db.close()
