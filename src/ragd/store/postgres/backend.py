"""The PostgreSQL backend: one pool per URL (:mod:`ragd.store.postgres.connection`), one migration chain
(:mod:`ragd.store.postgres.schema`), and the ports over them, originals included (:attr:`blobs`)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from ragd.store.backend import PoolUsage
from ragd.store.backend_base import BackendBase
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


class PostgresBackend(BackendBase):
    engine = "postgresql"

    _schema = schema

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._db = Database(url)

    def __repr__(self) -> str:
        return f"PostgresBackend({masked(self.url)!r})"

    @cached_property
    def store(self) -> Store:
        from ragd.store.postgres.store import PostgresStore

        return self._port(PostgresStore(self.url))

    @cached_property
    def identities(self) -> IdentityStore:
        from ragd.store.postgres.identities import PostgresIdentityStore

        return self._port(PostgresIdentityStore(self.url))

    @cached_property
    def conversations(self) -> ConversationStore:
        from ragd.store.postgres.conversations import PostgresConversationStore

        return self._port(PostgresConversationStore(self.url))

    @cached_property
    def blobs(self) -> BlobStore:
        from ragd.store.postgres.blobs import PostgresBlobStore

        return self._port(PostgresBlobStore(self.url))

    def audit_log(self, signer: AuditSigner | None) -> AuditLog:
        from ragd.audit.postgres import PostgresAuditLog

        return self._port(PostgresAuditLog(self.url, signer))

    def ping(self) -> None:
        self._db.ping()

    def pool_stats(self) -> dict[str, int]:
        return self._db.pool_stats()

    def pool_usage(self) -> PoolUsage:
        return self._db.pool_usage()
