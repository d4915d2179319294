"""The SQLite side of the sync state port (:mod:`ragd.store.sync_state`; table ``sync_files``, migration 10)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ragd.store.sync_state import LEASE_UPSERT, SYNC_COLUMNS, SyncEntry, entry_from_row

if TYPE_CHECKING:
    from ragd.store.sqlite.connection import Database


class SyncStateMixin:
    _db: Database

    def sync_entries(self, folder_id: str) -> list[SyncEntry]:
        rows = self._db.conn().execute(
            f"SELECT {SYNC_COLUMNS} FROM sync_files WHERE folder_id = ? ORDER BY path", (folder_id,)
        ).fetchall()
        return [entry_from_row(r) for r in rows]

    def sync_put(self, entries: Sequence[SyncEntry]) -> None:
        if not entries:
            return
        now = time.time()
        with self._db.write() as conn:
            conn.executemany(
                f"INSERT INTO sync_files ({SYNC_COLUMNS}, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (folder_id, path) DO UPDATE SET document_id = excluded.document_id, "
                "content_hash = excluded.content_hash, size = excluded.size, mtime_ns = excluded.mtime_ns, "
                "synced_at = excluded.synced_at",
                [(e.folder_id, e.path, e.document_id, e.content_hash, e.size, e.mtime_ns, now) for e in entries],
            )

    def sync_remove(self, folder_id: str, paths: Sequence[str]) -> None:
        if not paths:
            return
        with self._db.write() as conn:
            conn.executemany("DELETE FROM sync_files WHERE folder_id = ? AND path = ?",
                             [(folder_id, p) for p in paths])

    def rename_document(self, doc_id: str, filename: str, metadata: dict[str, Any]) -> bool:
        with self._db.write() as conn:
            row = conn.execute("SELECT metadata FROM documents WHERE id = ?", (doc_id,)).fetchone()
            if row is None:
                return False
            merged = {**json.loads(row[0] or "{}"), **metadata}
            conn.execute("UPDATE documents SET filename = ?, metadata = ?, updated_at = ? WHERE id = ?",
                         (filename, json.dumps(merged), time.time(), doc_id))
        return True

    def sync_lease(self, folder_id: str, holder: str, ttl_s: float) -> bool:
        now = time.time()
        with self._db.write() as conn:
            cur = conn.execute(LEASE_UPSERT.format(p="?"), (folder_id, holder, now + ttl_s, now))
            return bool(cur.rowcount)

    def sync_release(self, folder_id: str, holder: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM sync_leases WHERE folder_id = ? AND holder = ?", (folder_id, holder))
