"""The ``BlobStore`` port: raw bytes by key, for uploaded originals kept in the database (PostgreSQL), so replicas
and workers on different machines need no shared volume. Encryption is the caller's
(:class:`ragd.ingest.files.FileStore` encrypts before :meth:`BlobStore.put_many`), so a blob store only ever
holds what it is given.

Besides plain put/get/delete, the port has the few operations the file store needs to keep the behaviour it has
on disk without reading whole originals: :meth:`BlobStore.add_many` (an original already stored is kept, as a
file that exists is), :meth:`BlobStore.update` (key rotation never resurrects a blob deleted meanwhile),
:meth:`BlobStore.head` (the encryption header alone) and :meth:`BlobStore.iter_entries` (age, for orphans)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class BlobEntry:
    key: str
    size: int
    """Stored bytes (sealed length when encrypted)."""
    created_at: float
    """Epoch seconds of the write that stored it (the last replacement's)."""


@runtime_checkable
class BlobStore(Protocol):
    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store each ``(key, data)``, replacing an existing blob of the same key, all in one transaction."""

    def add_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store each ``(key, data)`` whose key is not stored yet (an existing blob is kept as it is), all in one
        transaction."""

    def update(self, key: str, data: bytes) -> bool:
        """Replace an existing blob; ``False`` (nothing stored) when the key is not there."""

    def get(self, key: str) -> bytes | None: ...

    def head(self, key: str, n: int) -> bytes | None:
        """The first ``n`` bytes of the blob (fewer if it is shorter), ``None`` if not stored."""

    def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error."""

    def iter_keys(self) -> Iterator[str]:
        """Every key, in key order."""

    def iter_entries(self) -> Iterator[BlobEntry]:
        """Every blob's key, size and time of writing, in key order (the data is not read)."""

    def close(self) -> None: ...
