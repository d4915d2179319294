"""The PostgreSQL adapter of the :class:`~ragd.store.base.Store` port: the behaviour of
:class:`~ragd.store.sqlite.store.SqliteStore`, shared by any number of processes and replicas.

Where SQLite relies on its single writer (``BEGIN IMMEDIATE``), this adapter takes explicit locks, each narrow:

* documents: advisory locks per file name and content hash, and the unique index on the bytes
  (:mod:`ragd.store.postgres.submit`);
* chunks: every transaction that inserts or deletes chunks takes ``CHANGES_LOCK`` first
  (:data:`ragd.store.postgres.schema.CHANGES_LOCK`), so change ids are handed out in commit order and the
  lineage clean-up of a commit sees every version committed before it;
* jobs: ``FOR UPDATE SKIP LOCKED`` (:mod:`ragd.store.postgres.jobs`).

Embeddings are pgvector values; lexical search is BM25 over postings kept in the chunk's transaction
(:mod:`ragd.store.postgres.lexical`), with FTS5's scores.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg

from ragd.errors import DocumentNotFound
from ragd.models import Chunk, ChunkDraft, DocStatus, Document, ParsedRecord, SearchFilters
from ragd.store.postgres import filters as _filters
from ragd.store.postgres import lexical, schema
from ragd.store.postgres.changes import ChangeLogMixin
from ragd.store.postgres.connection import Database, to_array
from ragd.store.postgres.jobs import JobsMixin
from ragd.store.postgres.submit import NEWEST_FIRST as _NEWEST_FIRST
from ragd.store.postgres.submit import SubmitMixin, metadata_json
from ragd.store.postgres.sync_state import SyncStateMixin
from ragd.store.rows import CHUNK_SELECT as _CHUNK_SELECT
from ragd.store.rows import DOC_COLUMNS as _DOC_COLUMNS
from ragd.store.rows import chunk_from_row as _chunk
from ragd.store.rows import document_from_row as _document
from ragd.store.url import masked

Conn = psycopg.Connection[Any]




def _vector(vector: np.ndarray) -> np.ndarray:
    array = np.asarray(vector)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"an embedding must be a non-empty 1-d vector, got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)


def lock_changes(conn: Conn) -> None:
    """Take ``CHANGES_LOCK`` (until the transaction ends): the first statement of every chunk write."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (schema.CHANGES_LOCK,))


class PostgresStore(ChangeLogMixin, JobsMixin, SubmitMixin, SyncStateMixin):
    """``PostgresStore("postgresql://user:pass@host/db")``; call :meth:`migrate` once."""

    _row_to_document = staticmethod(_document)

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Database(url)

    def __repr__(self) -> str:
        return f"PostgresStore({masked(self.url)!r})"

    # -- lifecycle -------------------------------------------------------------------------------------------
    def migrate(self) -> None:
        self._db.migrate(schema.migrate)

    def close(self) -> None:
        self._db.close()

    # -- metadata --------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.conn().execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self._db.conn().execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- documents (adding them: :mod:`ragd.store.postgres.submit`) ---------------------------------------------
    def get_document(self, doc_id: str) -> Document | None:
        row = self._db.conn().execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = %s", (doc_id,)).fetchone()
        return None if row is None else _document(row)

    def find_document(
        self, collection: str, *, content_hash: str | None = None, filename: str | None = None,
        tenant_id: str = "default",
    ) -> Document | None:
        sql = f"SELECT {_DOC_COLUMNS} FROM documents WHERE tenant_id = %s AND collection = %s"
        params: list[Any] = [tenant_id, collection]
        if content_hash is not None:
            sql += " AND content_hash = %s"
            params.append(content_hash)
        if filename is not None:
            sql += " AND filename = %s"
            params.append(filename)
        row = self._db.conn().execute(f"{sql} {_NEWEST_FIRST} LIMIT 1", params).fetchone()
        return None if row is None else _document(row)

    def list_documents(
        self,
        *,
        collection: str | None = None,
        status: DocStatus | None = None,
        limit: int = 50,
        offset: int = 0,
        tenant_id: str | None = None,
        readable: Sequence[str] | None = None,
        search: str | None = None,
    ) -> tuple[list[Document], int]:
        conditions: list[str] = []
        params: list[Any] = []
        if tenant_id is not None:
            conditions.append("tenant_id = %s")
            params.append(tenant_id)
        if readable is not None:
            conditions.append("collection = ANY(%s::text[])")
            params.append(list(readable))
        if search:
            # strpos, not LIKE: the search is a plain substring, its % and _ are characters
            conditions.append("(strpos(lower(filename), %s) > 0 OR strpos(lower(COALESCE(title, '')), %s) > 0)")
            params.extend([search.lower(), search.lower()])
        if collection is not None:
            conditions.append("collection = %s")
            params.append(collection)
        if status is not None:
            conditions.append("status = %s")
            params.append(DocStatus(status).value)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._db.read() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM documents {where}", params).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents {where} {_NEWEST_FIRST} LIMIT %s OFFSET %s",
                [*params, max(0, limit), max(0, offset)],
            ).fetchall()
        return [_document(r) for r in rows], int(total)

    def set_status(
        self,
        doc_id: str,
        status: DocStatus,
        *,
        error: str | None = None,
        error_code: str | None = None,
        failed_step: str | None = None,
        pages: int | None = None,
        title: str | None = None,
    ) -> None:
        rows = self._db.conn().execute(
            "UPDATE documents SET status = %s, error = %s, error_code = %s, failed_step = %s, "
            "pages = COALESCE(%s, pages), title = COALESCE(%s, title), updated_at = %s WHERE id = %s",
            (DocStatus(status).value, error, error_code, failed_step, pages, title, time.time(), doc_id),
        )
        if rows.rowcount == 0:
            raise DocumentNotFound(f"no document {doc_id!r}")

    def set_status_many(self, doc_ids: Sequence[str], status: DocStatus) -> None:
        self._db.conn().execute(
            "UPDATE documents SET status = %s, error = NULL, error_code = NULL, failed_step = NULL, updated_at = %s "
            "WHERE id = ANY(%s::text[])",
            (DocStatus(status).value, time.time(), list(doc_ids)),
        )

    @staticmethod
    def _save_text(conn: Conn, doc_id: str, text: str) -> None:
        try:
            conn.execute(
                "INSERT INTO doc_text (doc_id, text) VALUES (%s, %s) "
                "ON CONFLICT (doc_id) DO UPDATE SET text = excluded.text",
                (doc_id, text),
            )
        except psycopg.errors.ForeignKeyViolation as exc:
            raise DocumentNotFound(f"no document {doc_id!r}") from exc

    def record_parsed(self, entries: Sequence[ParsedRecord]) -> None:
        now = time.time()
        with self._db.write() as conn:
            for e in entries:
                cursor = conn.execute(
                    "UPDATE documents SET status = %s, error = NULL, error_code = NULL, failed_step = NULL, "
                    "pages = COALESCE(%s, pages), title = COALESCE(%s, title), metadata = COALESCE(%s, metadata), "
                    "updated_at = %s WHERE id = %s",
                    (DocStatus.CHUNKING.value, e.pages, e.title,
                     None if e.metadata is None else metadata_json(e.metadata), now, e.doc_id),
                )
                if cursor.rowcount == 0:
                    raise DocumentNotFound(f"no document {e.doc_id!r}")
                self._save_text(conn, e.doc_id, e.text)

    def list_children(self, doc_id: str) -> list[Document]:
        sql = f"SELECT {_DOC_COLUMNS} FROM documents WHERE parent_id = %s ORDER BY created_at, id"
        return [self._row_to_document(r) for r in self._db.conn().execute(sql, (doc_id,)).fetchall()]

    def get_text(self, doc_id: str) -> str | None:
        row = self._db.conn().execute("SELECT text FROM doc_text WHERE doc_id = %s", (doc_id,)).fetchone()
        return None if row is None else row[0]

    def commit_chunks(
        self, doc_id: str, chunks: Sequence[ChunkDraft], lexical: Sequence[str], model: str
    ) -> list[str]:
        return self.commit_chunks_many([(doc_id, chunks, lexical)], model)

    def commit_chunks_many(
        self, items: Sequence[tuple[str, Sequence[ChunkDraft], Sequence[str]]], model: str
    ) -> list[str]:
        for doc_id, chunks, lex in items:
            if len(chunks) != len(lex):
                raise ValueError(f"{len(chunks)} chunks but {len(lex)} lexical texts of {doc_id!r}")
        with self._db.write() as conn:
            lock_changes(conn)
            hashes = sorted({c.content_hash for _, chunks, _ in items for c in chunks})
            cached = {
                h for (h,) in conn.execute(
                    "SELECT content_hash FROM embeddings WHERE model = %s AND content_hash = ANY(%s::text[])",
                    (model, hashes),
                )
            }
            missing = [h for h in hashes if h not in cached]
            if missing:
                raise ValueError(f"{len(missing)} chunk(s) have no cached embedding for model {model!r}")
            return [old for doc_id, chunks, lex in items for old in self._commit_chunks(conn, doc_id, chunks, lex)]

    def _commit_chunks(self, conn: Conn, doc_id: str, chunks: Sequence[ChunkDraft], lex: Sequence[str]) -> list[str]:
        if conn.execute("SELECT 1 FROM documents WHERE id = %s FOR UPDATE", (doc_id,)).fetchone() is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        conn.execute("DELETE FROM lexical_docs WHERE seq IN (SELECT seq FROM chunks WHERE document_id = %s)",
                     (doc_id,))
        conn.execute("DELETE FROM chunks WHERE document_id = %s", (doc_id,))
        values = [
            (f"{doc_id}:{c.ordinal}", c.ordinal, c.text, c.start, c.end, c.page_start, c.page_end,
             json.dumps(list(c.heading_path)), c.content_hash, c.token_count, text, c.language)
            for c, text in zip(chunks, lex, strict=True)
        ]
        columns = [list(col) for col in zip(*values, strict=True)] if values else [[] for _ in range(12)]
        try:
            rows = conn.execute(
                'INSERT INTO chunks (id, document_id, ordinal, text, start, "end", page_start, page_end, '
                "heading_path, content_hash, token_count, lex, language) "
                "SELECT u.id, %s, u.ordinal, u.text, u.start, u.stop, u.page_start, u.page_end, u.heading_path, "
                "u.content_hash, u.token_count, u.lex, u.language FROM unnest(%s::text[], %s::integer[], "
                "%s::text[], %s::integer[], %s::integer[], %s::integer[], %s::integer[], %s::text[], %s::text[], "
                "%s::integer[], %s::text[], %s::text[]) WITH ORDINALITY AS u (id, ordinal, text, start, stop, "
                "page_start, page_end, heading_path, content_hash, token_count, lex, language, n) ORDER BY u.n "
                "RETURNING seq, lex",
                (doc_id, *columns),
            ).fetchall()
        except psycopg.errors.UniqueViolation as exc:
            raise ValueError(f"duplicate chunk ordinals for document {doc_id!r}") from exc
        lexical.write_postings(conn, rows)
        conn.execute(
            "UPDATE documents SET num_chunks = %s, status = %s, error = NULL, error_code = NULL, "
            "failed_step = NULL, updated_at = %s WHERE id = %s",
            (len(rows), DocStatus.INDEXED.value, time.time(), doc_id),
        )
        return self._delete_older_versions(conn, doc_id)

    def delete_document(self, doc_id: str) -> bool:
        with self._db.write() as conn:
            lock_changes(conn)
            return self._delete_document_tree(conn, doc_id, [])

    # -- embedding cache -------------------------------------------------------------------------------------
    def get_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        if not hashes:
            return {}
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT content_hash, vector FROM embeddings WHERE model = %s AND content_hash = ANY(%s::text[])",
                (model, list(dict.fromkeys(hashes))), binary=True,
            ).fetchall()
        return {h: to_array(v) for h, v in rows}

    def put_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        rows = [(model, h, _vector(v)) for h, v in vectors.items()]
        with self._db.write() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO embeddings (model, content_hash, vector) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                rows,
            )

    # -- chunks ----------------------------------------------------------------------------------------------
    def get_chunks(self, seqs: Sequence[int]) -> list[Chunk]:
        if len(seqs) == 0:
            return []
        wanted = [int(s) for s in seqs]
        rows = self._db.conn().execute(f"{_CHUNK_SELECT} WHERE c.seq = ANY(%s::bigint[])", (wanted,)).fetchall()
        by_seq = {row[0]: row for row in rows}
        return [_chunk(by_seq[s]) for s in wanted if s in by_seq]

    def get_chunk(self, chunk_id: str) -> Chunk | None:
        row = self._db.conn().execute(f"{_CHUNK_SELECT} WHERE c.id = %s", (chunk_id,)).fetchone()
        return None if row is None else _chunk(row)

    def list_chunks(self, doc_id: str) -> list[Chunk]:
        rows = self._db.conn().execute(f"{_CHUNK_SELECT} WHERE c.document_id = %s ORDER BY c.ordinal", (doc_id,))
        return [_chunk(r) for r in rows]

    def chunks_by_collection(self) -> dict[str, int]:
        rows = self._db.conn().execute(
            "SELECT d.collection, COUNT(c.seq) FROM documents AS d "
            "LEFT JOIN chunks AS c ON c.document_id = d.id GROUP BY d.collection"
        ).fetchall()
        return {str(c): int(n) for c, n in rows}

    def chunk_languages(self, filters: SearchFilters | None = None) -> dict[str, int]:
        condition, params = _filters.chunk_conditions(_filters.validate(filters), "c")
        where = f"WHERE {condition}" if condition else ""
        rows = self._db.conn().execute(
            f"SELECT c.language, COUNT(*) FROM chunks AS c {where} GROUP BY c.language", params
        ).fetchall()
        return {str(code): int(n) for code, n in rows}

    def count_chunks(self, collection: str | None = None) -> int:
        conn = self._db.conn()
        if collection is None:
            return int(conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        return int(conn.execute(
            "SELECT COUNT(*) FROM chunks WHERE document_id IN (SELECT id FROM documents WHERE collection = %s)",
            (collection,),
        ).fetchone()[0])

    def search_lexical(
        self, terms: Sequence[str], filters: SearchFilters | None, limit: int
    ) -> list[tuple[int, float]]:
        clean = _filters.validate(filters)
        query = lexical.query_terms(terms)
        if query is None or limit <= 0:
            return []
        join, condition, params = _filters.joined_conditions(clean, "c", "d")
        rows = self._db.conn().execute(
            lexical.search_sql(join, condition), [*query, *lexical.constants(), *params, int(limit)]
        ).fetchall()
        return [(int(seq), float(score)) for seq, score in rows]

    def allowed_seqs(self, filters: SearchFilters) -> np.ndarray:
        condition, params = _filters.chunk_conditions(_filters.validate(filters), "c")
        where = f"WHERE {condition}" if condition else ""
        with self._db.connection() as conn:
            rows = conn.execute(f"SELECT c.seq FROM chunks AS c {where}", params, binary=True).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
