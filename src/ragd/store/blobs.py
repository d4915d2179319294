"""The ``BlobStore`` port: raw bytes by key, for uploaded originals kept in the database (PostgreSQL), so replicas
and workers on different machines need no shared volume. Encryption is the caller's
(:class:`ragd.ingest.files.FileStore` encrypts before :meth:`BlobStore.put_many`), so a blob store only ever
holds what it is given."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class BlobStore(Protocol):
    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store each ``(key, data)``, replacing an existing blob of the same key, all in one transaction."""

    def get(self, key: str) -> bytes | None: ...

    def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error."""

    def iter_keys(self) -> Iterator[str]: ...
