"""Adding documents to the SQLite store: plain inserts, and uploads that deduplicate and version atomically.

An upload is decided inside one ``BEGIN IMMEDIATE`` transaction, which SQLite serialises across threads and
processes: the version it replaces is looked up and the row inserted with nothing in between, and identical bytes
in a tenant's collection are refused by a unique index (``documents_unique_hash``, migration 6) rather than by a
look-up, so concurrent identical uploads end as one document whatever the database. Each document records its
``lineage`` (the id of the first version of its file); indexing a version removes every older one of the lineage
(:meth:`SubmitMixin._delete_older_versions`), so concurrent new versions end as one live document.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ragd.errors import Conflict
from ragd.models import DocStatus, Document
from ragd.store.rows import DOC_COLUMNS, check_queue

if TYPE_CHECKING:
    from ragd.store.sqlite.connection import Database

_INSERT = (
    f"INSERT INTO documents ({DOC_COLUMNS}, lineage) VALUES ({', '.join('?' * 20)}, "
    "COALESCE((SELECT lineage FROM documents WHERE id = ?), ?))"
)
_SAME_BYTES = "ON CONFLICT (tenant_id, collection, content_hash) DO NOTHING"
_DESCENDANTS = (
    "WITH RECURSIVE tree(id) AS (SELECT id FROM documents WHERE parent_id = ? "
    "UNION SELECT d.id FROM documents AS d JOIN tree AS t ON d.parent_id = t.id) SELECT id FROM tree"
)


class SubmitMixin:
    _db: Database
    _insert_job: Callable[[sqlite3.Connection, str, str, float, str], int]
    _row_to_document: Callable[[Sequence[Any]], Document]

    def add_document(self, doc: Document, *, enqueue: bool = True) -> Document:
        with self._db.write() as conn:  # the clock is read under the write lock: created_at follows commit order
            stored = self._insert_document(conn, doc, enqueue, time.time())
        assert stored is not None
        return stored

    def add_documents(self, docs: Sequence[Document]) -> list[Document]:
        with self._db.write() as conn:
            now = time.time()
            out = [self._insert_document(conn, doc, True, now) for doc in docs]
        return [d for d in out if d is not None]

    def submit_documents(
        self, docs: Sequence[Document], *, replace_others: bool = True, queue: str = "interactive"
    ) -> list[tuple[Document, bool]]:
        check_queue(queue)
        out: list[tuple[Document, bool]] = []
        with self._db.write() as conn:
            # read under the write lock, so that created_at orders versions as their commits do (the newest wins)
            now = time.time()
            for doc in docs:
                previous = conn.execute(
                    "SELECT id FROM documents WHERE tenant_id = ? AND collection = ? AND filename = ? "
                    "AND (? OR uploaded_by IS ?) AND parent_id IS ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
                    (doc.tenant_id, doc.collection, doc.filename, replace_others, doc.uploaded_by, doc.parent_id),
                ).fetchone()
                candidate = dataclasses.replace(doc, replaces=previous[0] if previous else None)
                stored = self._insert_document(conn, candidate, True, now, on_same_bytes=_SAME_BYTES, queue=queue)
                if stored is not None:
                    out.append((stored, False))
                    continue
                out.append((self._same_bytes(conn, doc, now, queue), True))
        return out

    def _same_bytes(self, conn: sqlite3.Connection, doc: Document, now: float, queue: str) -> Document:
        """The document holding ``doc``'s bytes; a failed one is queued again (once, whoever asks)."""
        row = conn.execute(
            f"SELECT {DOC_COLUMNS} FROM documents WHERE tenant_id = ? AND collection = ? AND content_hash = ?",
            (doc.tenant_id, doc.collection, doc.content_hash),
        ).fetchone()
        existing = self._row_to_document(row)
        if existing.status is DocStatus.FAILED:
            conn.execute(
                "UPDATE documents SET status = ?, error = NULL, error_code = NULL, failed_step = NULL, "
                "updated_at = ? WHERE id = ?", (DocStatus.PENDING.value, now, existing.id),
            )
            self._insert_job(conn, existing.id, "ingest", now, queue)
            existing = dataclasses.replace(existing, status=DocStatus.PENDING, error=None, error_code=None,
                                           failed_step=None, updated_at=now)
        return existing

    def _insert_document(
        self, conn: sqlite3.Connection, doc: Document, enqueue: bool, now: float, *, on_same_bytes: str = "",
        queue: str = "interactive",
    ) -> Document | None:
        """Insert ``doc`` (pending) and its job in ``queue``; ``None`` when ``on_same_bytes`` skipped it (same bytes
        exist)."""
        stored = dataclasses.replace(
            doc, status=DocStatus.PENDING, metadata=dict(doc.metadata), created_at=now, updated_at=now
        )
        values = (
            stored.id, stored.collection, stored.filename, stored.content_hash, stored.mime, stored.size,
            stored.status.value, stored.error, stored.error_code, stored.failed_step, stored.num_chunks,
            stored.pages, stored.title, json.dumps(stored.metadata), stored.replaces, now, now, stored.tenant_id,
            stored.uploaded_by, stored.parent_id, stored.replaces, stored.id,
        )
        try:
            cursor = conn.execute(f"{_INSERT} {on_same_bytes}", values)
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"document {doc.id!r} (or one with the same bytes) already exists") from exc
        if cursor.rowcount == 0:
            return None
        if enqueue:
            self._insert_job(conn, doc.id, "ingest", now, queue)
        return stored

    def _delete_older_versions(self, conn: sqlite3.Connection, doc_id: str) -> list[str]:
        """Delete every older version of ``doc_id``'s lineage (and the one it ``replaces``); returns their ids."""
        older = [
            r[0] for r in conn.execute(
                "SELECT o.id FROM documents AS d JOIN documents AS o "
                "ON (o.lineage = d.lineage AND o.rowid < d.rowid) OR o.id = d.replaces "
                "WHERE d.id = ? AND o.id <> d.id",
                (doc_id,),
            )
        ]
        for other in list(older):
            self._delete_document_tree(conn, other, older)
        return older

    @classmethod
    def _delete_document_tree(cls, conn: sqlite3.Connection, doc_id: str, descendants: list[str]) -> bool:
        """Delete ``doc_id`` and every document found inside it (its attachments, theirs…), whose ids are appended
        to ``descendants``; False if ``doc_id`` was absent."""
        children = [r[0] for r in conn.execute(_DESCENDANTS, (doc_id,))]
        for child in children:
            cls._delete_document(conn, child)
        descendants.extend(children)
        return cls._delete_document(conn, doc_id)

    @staticmethod
    def _delete_document(conn: sqlite3.Connection, doc_id: str) -> bool:
        # Explicit deletes (the foreign keys would cascade anyway): chunk triggers log ``del`` changes.
        conn.execute("DELETE FROM chunks WHERE document_id = ?", (doc_id,))
        conn.execute("DELETE FROM doc_text WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM jobs WHERE document_id = ?", (doc_id,))
        return conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount > 0
