"""A corpus of documents with chunk vectors, written the same way into any store, for the dense-search congruence
tests and the pgvector recall benchmark (``tests/store/postgres/test_pgvector_search.py``,
``bench/pgvector_recall.py``).

:func:`insert_postgres` writes the rows of migration 1 (``documents``, ``embeddings``, ``chunks``) with plain SQL,
as a store's ``commit_chunks`` leaves them (embeddings first, then the chunks under the change-log lock), so
``chunk_vectors`` is filled by its trigger exactly as in production without needing the PostgreSQL store port.
:func:`insert_store` writes the same corpus through the :class:`~ragd.store.base.Store` API (SQLite).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragd.models import ChunkDraft, Document
from ragd.store.base import Store


@dataclass(slots=True)
class CorpusDoc:
    id: str
    vectors: np.ndarray
    """float32 ``[chunks, dim]``: one chunk per row."""
    collection: str = "default"
    tenant_id: str = "default"
    mime: str = "text/plain"
    metadata: dict[str, Any] = field(default_factory=dict)

    def chunk_id(self, ordinal: int) -> str:
        return f"{self.id}:{ordinal}"

    def content_hash(self, ordinal: int) -> str:
        return hashlib.sha256(self.chunk_id(ordinal).encode()).hexdigest()


def insert_postgres(url: str, docs: Sequence[CorpusDoc], model: str) -> dict[str, int]:
    """Insert ``docs`` with their chunks and embeddings in one transaction; returns ``{chunk id: seq}``."""
    from ragd.store.postgres.connection import Database
    from ragd.store.postgres.schema import CHANGES_LOCK

    now = time.time()
    db = Database(url)
    try:
        with db.write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (CHANGES_LOCK,))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO documents (id, tenant_id, collection, filename, content_hash, mime, size, status, "
                    "num_chunks, metadata, lineage, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, 0, 'indexed', %s, %s, %s, %s, %s)",
                    [(d.id, d.tenant_id, d.collection, f"{d.id}.txt", d.id, d.mime, len(d.vectors),
                      json.dumps(d.metadata), d.id, now, now) for d in docs])
                cur.executemany(
                    "INSERT INTO embeddings (model, content_hash, vector) VALUES (%s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    [(model, d.content_hash(i), np.asarray(v, dtype=np.float32))
                     for d in docs for i, v in enumerate(d.vectors)])
                cur.executemany(
                    'INSERT INTO chunks (id, document_id, ordinal, text, start, "end", content_hash) '
                    "VALUES (%s, %s, %s, %s, 0, 1, %s)",
                    [(d.chunk_id(i), d.id, i, d.chunk_id(i), d.content_hash(i))
                     for d in docs for i in range(len(d.vectors))])
            rows = conn.execute("SELECT id, seq FROM chunks WHERE document_id = ANY(%s::text[])",
                                ([d.id for d in docs],)).fetchall()
        return {str(cid): int(seq) for cid, seq in rows}
    finally:
        db.close()


def delete_postgres(url: str, doc_id: str) -> None:
    """Delete a document the way a store does (its chunks cascade)."""
    from ragd.store.postgres.connection import Database
    from ragd.store.postgres.schema import CHANGES_LOCK

    db = Database(url)
    try:
        with db.write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (CHANGES_LOCK,))
            conn.execute("DELETE FROM documents WHERE id = %s", (doc_id,))
    finally:
        db.close()


def insert_store(store: Store, docs: Sequence[CorpusDoc], model: str) -> dict[str, int]:
    """The same corpus through the Store API; returns ``{chunk id: seq}``."""
    out: dict[str, int] = {}
    for d in docs:
        store.add_document(Document(id=d.id, collection=d.collection, filename=f"{d.id}.txt", content_hash=d.id,
                                    mime=d.mime, size=0, metadata=d.metadata, tenant_id=d.tenant_id),
                           enqueue=False)
        store.put_embeddings(model, {d.content_hash(i): np.asarray(v, dtype=np.float32)
                                     for i, v in enumerate(d.vectors)})
        drafts = [ChunkDraft(ordinal=i, text=d.chunk_id(i), start=0, end=1, page_start=None, page_end=None,
                             heading_path=[], token_count=1, content_hash=d.content_hash(i))
                  for i in range(len(d.vectors))]
        store.commit_chunks(d.id, drafts, [d.chunk_id(i) for i in range(len(d.vectors))], model)
        out.update({c.id: c.seq for c in store.list_chunks(d.id)})
    return out
