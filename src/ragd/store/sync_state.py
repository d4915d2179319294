"""The sync state port: which document holds which file of a synced folder (``ragd sync``, :mod:`ragd.ingest.sync`).

One row per file of a folder: the folder's id (:func:`ragd.ingest.sync.folder_id`), the file's path relative to
the folder (``/``-separated), the document holding its bytes, and what the file looked like when it was last
synced (content hash, size, modification time in nanoseconds). A second sync compares the folder with these rows:
a file whose size and time are unchanged is not read again. Rows are written as the run goes, so an interrupted
run resumes where it stopped. Several paths may name one document (identical bytes are one document of a
collection). A row whose document was deleted by other means is treated as a new file on the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class SyncEntry:
    folder_id: str
    path: str
    document_id: str
    content_hash: str
    size: int
    mtime_ns: int


@runtime_checkable
class SyncStateStore(Protocol):
    """Sync rows of both engines (:mod:`ragd.store.sqlite.sync_state`, :mod:`ragd.store.postgres.sync_state`)."""

    def sync_entries(self, folder_id: str) -> list[SyncEntry]:
        """Every row of ``folder_id``, by path."""

    def sync_put(self, entries: Sequence[SyncEntry]) -> None:
        """Insert or replace rows (keyed by folder and path), in one transaction."""

    def sync_remove(self, folder_id: str, paths: Sequence[str]) -> None:
        """Delete the rows of ``paths`` in ``folder_id`` (absent ones are ignored)."""

    def rename_document(self, doc_id: str, filename: str, metadata: dict[str, Any]) -> bool:
        """Give a document a new display name and merge ``metadata`` into its own (a moved file: no re-indexing);
        False when there is no such document."""

    def sync_lease(self, folder_id: str, holder: str, ttl_s: float) -> bool:
        """Take or renew the lease on ``folder_id``'s sync for ``holder`` (a server process), atomically: True when
        ``holder`` holds it for the next ``ttl_s`` seconds, False when another holder's lease has not expired."""

    def sync_release(self, folder_id: str, holder: str) -> None:
        """Give the lease up (only ``holder``'s own)."""


def entry_from_row(row: Sequence[Any]) -> SyncEntry:
    return SyncEntry(str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]), int(row[5]))


SYNC_COLUMNS = "folder_id, path, document_id, content_hash, size, mtime_ns"

SYNC_FILES_TABLE = """CREATE TABLE sync_files (
    folder_id TEXT NOT NULL,
    path TEXT NOT NULL,
    document_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    size BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    synced_at {real} NOT NULL,
    PRIMARY KEY (folder_id, path)
)"""
"""The table of both engines (``{real}``: the engine's floating-point type)."""

SYNC_LEASES_TABLE = """CREATE TABLE sync_leases (
    folder_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at {real} NOT NULL
)"""
"""Which server process runs a folder's sync (``sync.folders``), until when."""

LEASE_UPSERT = (
    "INSERT INTO sync_leases (folder_id, holder, expires_at) VALUES ({p}, {p}, {p}) "
    "ON CONFLICT (folder_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE sync_leases.holder = excluded.holder OR sync_leases.expires_at < {p}"
)
"""Take or renew a lease in one statement (``{p}``: the engine's placeholder); a row changed means it is held."""
