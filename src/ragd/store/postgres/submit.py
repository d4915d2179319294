"""Adding documents to the PostgreSQL store: the guarantees of :mod:`ragd.store.sqlite.submit` across processes and
replicas, without SQLite's single writer.

* **Same bytes, one document.** The unique index ``documents_unique_hash (tenant_id, collection, content_hash)``
  decides, with ``ON CONFLICT DO NOTHING``: of concurrent inserts of the same bytes one wins, the others find its
  row afterwards (a failed one is queued again under ``FOR UPDATE``, so once whoever asks).
* **Versions.** Before it looks anything up, a transaction that inserts documents takes a transaction-scoped
  advisory lock per file name ``(tenant, collection, filename)`` and per ``(tenant, collection, content_hash)`` it
  touches, all in ascending key order (so two transactions never wait for each other in a cycle). The newest
  version of a name is therefore looked up and the new one inserted with no other insert of that name in between,
  and versions of a name are numbered in commit order by the identity column ``documents.ord`` (SQLite's rowid),
  which decides "newest" and "older" (``created_at``, a replica's clock, may disagree between replicas). The
  per-hash lock makes identical uploads queue on the lock rather than on each other's uncommitted rows.
* Indexing a version deletes every older one of its lineage (:meth:`SubmitMixin._delete_older_versions`) inside
  the chunk commit, which holds ``CHANGES_LOCK``: those decisions are serialised like every chunk write.

Metadata is stored as JSON text that PostgreSQL's ``jsonb`` accepts (the filters compare through it): numbers must
be finite and strings free of NUL and unpaired surrogates, else :class:`~ragd.errors.ValidationFailed`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from ragd.errors import Conflict, ValidationFailed
from ragd.models import DocStatus, Document
from ragd.store.rows import DOC_COLUMNS, check_queue

if TYPE_CHECKING:
    from ragd.store.postgres.connection import Database

NEWEST_FIRST = "ORDER BY created_at DESC, ord DESC"
LOCK_CLASS = 0x72646F63
"""First key of the two-key ``pg_advisory_xact_lock`` of document names and hashes (a key space apart from the
one-key locks ``CHANGES_LOCK`` and ``MIGRATE_LOCK``)."""
_INSERT = (
    f"INSERT INTO documents ({DOC_COLUMNS}, lineage) VALUES ({', '.join(['%s'] * 20)}, "
    "COALESCE(%s::text, (SELECT lineage FROM documents WHERE id = %s), %s))"
)
_SAME_BYTES = "ON CONFLICT (tenant_id, collection, content_hash) DO NOTHING"
_DESCENDANTS = (
    "WITH RECURSIVE tree(id) AS (SELECT id FROM documents WHERE parent_id = %s "
    "UNION SELECT d.id FROM documents AS d JOIN tree AS t ON d.parent_id = t.id) SELECT id FROM tree"
)
Conn = psycopg.Connection[Any]


def _check_json(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValidationFailed("metadata strings must not contain NUL characters or unpaired surrogates")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key)
            _check_json(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item)


def metadata_json(metadata: dict[str, Any]) -> str:
    """``metadata`` as stored (the same text as SQLite stores), refused when ``jsonb`` could not read it."""
    try:
        text = json.dumps(metadata, allow_nan=False)
    except ValueError as exc:
        raise ValidationFailed("metadata numbers must be finite (no NaN or Infinity)") from exc
    _check_json(metadata)
    return text


def _key(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_documents(conn: Conn, docs: Iterable[Document]) -> None:
    """Take the name and hash locks of ``docs`` in ascending key order (until the transaction ends)."""
    keys: set[int] = set()
    for doc in docs:
        keys.add(_key("name", doc.tenant_id, doc.collection, doc.filename))
        keys.add(_key("hash", doc.tenant_id, doc.collection, doc.content_hash))
    for key in sorted(keys):
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, key))


class SubmitMixin:
    _db: Database
    _insert_job: Callable[[Conn, str, str, float, str], int]
    _row_to_document: Callable[[Sequence[Any]], Document]

    def add_document(self, doc: Document, *, enqueue: bool = True) -> Document:
        with self._db.write() as conn:
            lock_documents(conn, [doc])
            stored = self._insert_document(conn, doc, enqueue, time.time())
        assert stored is not None
        return stored

    def add_documents(self, docs: Sequence[Document]) -> list[Document]:
        if not docs:
            return []
        with self._db.write() as conn:
            lock_documents(conn, docs)
            now = time.time()
            out = [self._insert_document(conn, doc, True, now) for doc in docs]
        return [d for d in out if d is not None]

    def submit_documents(
        self, docs: Sequence[Document], *, replace_others: bool = True, queue: str = "interactive"
    ) -> list[tuple[Document, bool]]:
        check_queue(queue)
        out: list[tuple[Document, bool]] = []
        if not docs:
            return out
        with self._db.write() as conn:
            lock_documents(conn, docs)
            now = time.time()
            for doc in docs:
                previous = conn.execute(
                    "SELECT id, lineage FROM documents WHERE tenant_id = %s AND collection = %s AND filename = %s "
                    "AND (%s OR uploaded_by IS NOT DISTINCT FROM %s) AND parent_id IS NOT DISTINCT FROM %s "
                    "ORDER BY ord DESC LIMIT 1",
                    (doc.tenant_id, doc.collection, doc.filename, replace_others, doc.uploaded_by, doc.parent_id),
                ).fetchone()
                candidate = dataclasses.replace(doc, replaces=previous[0] if previous else None)
                stored = self._insert_document(conn, candidate, True, now, on_same_bytes=_SAME_BYTES, queue=queue,
                                               lineage=previous[1] if previous else None)
                if stored is not None:
                    out.append((stored, False))
                    continue
                out.append((self._same_bytes(conn, doc, now, queue), True))
        return out

    def _same_bytes(self, conn: Conn, doc: Document, now: float, queue: str) -> Document:
        """The document holding ``doc``'s bytes; a failed one is queued again (once, whoever asks)."""
        row = conn.execute(
            f"SELECT {DOC_COLUMNS} FROM documents WHERE tenant_id = %s AND collection = %s AND content_hash = %s "
            "FOR UPDATE",
            (doc.tenant_id, doc.collection, doc.content_hash),
        ).fetchone()
        existing = self._row_to_document(row)
        if existing.status is DocStatus.FAILED:
            conn.execute(
                "UPDATE documents SET status = %s, error = NULL, error_code = NULL, failed_step = NULL, "
                "updated_at = %s WHERE id = %s", (DocStatus.PENDING.value, now, existing.id),
            )
            self._insert_job(conn, existing.id, "ingest", now, queue)
            existing = dataclasses.replace(existing, status=DocStatus.PENDING, error=None, error_code=None,
                                           failed_step=None, updated_at=now)
        return existing

    def _insert_document(
        self, conn: Conn, doc: Document, enqueue: bool, now: float, *, on_same_bytes: str = "",
        lineage: str | None = None, queue: str = "interactive",
    ) -> Document | None:
        """Insert ``doc`` (pending) and its job in ``queue``; ``None`` when ``on_same_bytes`` skipped it (same bytes
        exist). Its lineage is ``lineage``, else that of the document it replaces, else its own id."""
        stored = dataclasses.replace(
            doc, status=DocStatus.PENDING, metadata=dict(doc.metadata), created_at=now, updated_at=now
        )
        values = (
            stored.id, stored.collection, stored.filename, stored.content_hash, stored.mime, stored.size,
            stored.status.value, stored.error, stored.error_code, stored.failed_step, stored.num_chunks,
            stored.pages, stored.title, metadata_json(stored.metadata), stored.replaces, now, now,
            stored.tenant_id, stored.uploaded_by, stored.parent_id, lineage, stored.replaces, stored.id,
        )
        try:
            cursor = conn.execute(f"{_INSERT} {on_same_bytes}", values)
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"document {doc.id!r} (or one with the same bytes) already exists") from exc
        if cursor.rowcount == 0:
            return None
        if enqueue:
            self._insert_job(conn, doc.id, "ingest", now, queue)
        return stored

    def _delete_older_versions(self, conn: Conn, doc_id: str) -> list[str]:
        """Delete every older version of ``doc_id``'s lineage (and the one it ``replaces``); returns their ids.
        The caller holds ``CHANGES_LOCK``."""
        older = [
            r[0] for r in conn.execute(
                "SELECT o.id FROM documents AS d JOIN documents AS o "
                "ON (o.lineage = d.lineage AND o.ord < d.ord) OR o.id = d.replaces "
                "WHERE d.id = %s AND o.id <> d.id ORDER BY o.ord",
                (doc_id,),
            )
        ]
        for other in list(older):
            self._delete_document_tree(conn, other, older)
        return older

    @classmethod
    def _delete_document_tree(cls, conn: Conn, doc_id: str, descendants: list[str]) -> bool:
        """Delete ``doc_id`` and every document found inside it (its attachments, theirs…), whose ids are appended
        to ``descendants``; False if ``doc_id`` was absent. The caller holds ``CHANGES_LOCK``."""
        children = [r[0] for r in conn.execute(_DESCENDANTS, (doc_id,))]
        for child in children:
            cls._delete_document(conn, child)
        descendants.extend(children)
        return cls._delete_document(conn, doc_id)

    @staticmethod
    def _delete_document(conn: Conn, doc_id: str) -> bool:
        """Delete a document with its chunks (``del`` changes; their postings go by trigger), text and jobs.
        The caller holds ``CHANGES_LOCK``."""
        conn.execute("DELETE FROM lexical_docs WHERE seq IN (SELECT seq FROM chunks WHERE document_id = %s)",
                     (doc_id,))
        conn.execute("DELETE FROM chunks WHERE document_id = %s", (doc_id,))
        conn.execute("DELETE FROM doc_text WHERE doc_id = %s", (doc_id,))
        conn.execute("DELETE FROM jobs WHERE document_id = %s", (doc_id,))
        return conn.execute("DELETE FROM documents WHERE id = %s", (doc_id,)).rowcount > 0
