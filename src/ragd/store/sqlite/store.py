"""The SQLite adapter of the :class:`~ragd.store.base.Store` port (the embedded default).

One database file in WAL mode holds documents, text, chunks, the FTS5 lexical index, the embedding cache,
the change log, jobs and metadata (schema: :mod:`ragd.store.sqlite.schema`). Thread-safe through one
connection per thread; process-safe through SQLite's own locking (every write is one ``BEGIN IMMEDIATE``
transaction).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragd.errors import DocumentNotFound
from ragd.models import Chunk, ChunkDraft, DocStatus, Document, ParsedRecord, SearchFilters
from ragd.store.rows import CHUNK_SELECT as _CHUNK_SELECT
from ragd.store.rows import DOC_COLUMNS as _DOC_COLUMNS
from ragd.store.rows import chunk_from_row as _chunk
from ragd.store.rows import document_from_row as _document
from ragd.store.sqlite import filters as _filters
from ragd.store.sqlite import schema
from ragd.store.sqlite.changes import ChangeLogMixin, from_blob, to_blob
from ragd.store.sqlite.connection import Database
from ragd.store.sqlite.jobs import JobsMixin
from ragd.store.sqlite.submit import SubmitMixin
from ragd.store.sqlite.sync_state import SyncStateMixin
from ragd.store.url import sqlite_path

_NEWEST_FIRST = "ORDER BY created_at DESC, rowid DESC"




def fts_query(terms: Sequence[str]) -> str:
    """``"a" OR "b"``: every term a quoted FTS5 string (``"`` doubled), so no query syntax can leak in. A repeated
    term stays repeated: FTS5's bm25() scores each phrase, so it weighs as often as the query says it."""
    cleaned = (t.replace("\x00", "").strip() for t in terms if isinstance(t, str))
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in cleaned if t)


class SqliteStore(ChangeLogMixin, JobsMixin, SubmitMixin, SyncStateMixin):
    """``SqliteStore("sqlite:////abs/ragd.sqlite3")`` or ``SqliteStore(path)``; call :meth:`migrate` once."""

    _row_to_document = staticmethod(_document)

    def __init__(self, url_or_path: str | Path) -> None:
        self.path = sqlite_path(url_or_path)
        self._db = Database(self.path)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- lifecycle -------------------------------------------------------------------------------------------
    def migrate(self) -> None:
        self._db.migrate(schema.migrate)

    def close(self) -> None:
        self._db.close()

    # -- metadata --------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- documents (adding them: :mod:`ragd.store.sqlite.submit`) -----------------------------------------------
    def get_document(self, doc_id: str) -> Document | None:
        sql = f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?"
        row = self._db.conn().execute(sql, (doc_id,)).fetchone()
        return None if row is None else _document(row)

    def find_document(
        self, collection: str, *, content_hash: str | None = None, filename: str | None = None,
        tenant_id: str = "default",
    ) -> Document | None:
        sql = f"SELECT {_DOC_COLUMNS} FROM documents WHERE tenant_id = ? AND collection = ?"
        params: list[Any] = [tenant_id, collection]
        if content_hash is not None:
            sql += " AND content_hash = ?"
            params.append(content_hash)
        if filename is not None:
            sql += " AND filename = ?"
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
            conditions.append("tenant_id = ?")
            params.append(tenant_id)
        if readable is not None:
            conditions.append("collection IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(readable)))
        if search:
            conditions.append("(instr(lower(filename), ?) > 0 OR instr(lower(COALESCE(title, '')), ?) > 0)")
            params.extend([search.lower(), search.lower()])
        if collection is not None:
            conditions.append("collection = ?")
            params.append(collection)
        if status is not None:
            conditions.append("status = ?")
            params.append(DocStatus(status).value)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._db.read() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM documents {where}", params).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents {where} {_NEWEST_FIRST} LIMIT ? OFFSET ?",
                [*params, max(0, limit), max(0, offset)],
            ).fetchall()
        return [_document(r) for r in rows], total

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
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE documents SET status = ?, error = ?, error_code = ?, failed_step = ?, "
                "pages = COALESCE(?, pages), title = COALESCE(?, title), updated_at = ? WHERE id = ?",
                (DocStatus(status).value, error, error_code, failed_step, pages, title, time.time(), doc_id),
            )
            if cursor.rowcount == 0:
                raise DocumentNotFound(f"no document {doc_id!r}")

    def set_status_many(self, doc_ids: Sequence[str], status: DocStatus) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE documents SET status = ?, error = NULL, error_code = NULL, failed_step = NULL, updated_at = ? "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (DocStatus(status).value, time.time(), json.dumps(list(doc_ids))),
            )

    def record_parsed(self, entries: Sequence[ParsedRecord]) -> None:
        now = time.time()
        with self._db.write() as conn:
            for e in entries:
                cursor = conn.execute(
                    "UPDATE documents SET status = ?, error = NULL, error_code = NULL, failed_step = NULL, "
                    "pages = COALESCE(?, pages), title = COALESCE(?, title), metadata = COALESCE(?, metadata), "
                    "updated_at = ? WHERE id = ?",
                    (DocStatus.CHUNKING.value, e.pages, e.title,
                     None if e.metadata is None else json.dumps(e.metadata), now, e.doc_id),
                )
                if cursor.rowcount == 0:
                    raise DocumentNotFound(f"no document {e.doc_id!r}")
                conn.execute(
                    "INSERT INTO doc_text (doc_id, text) VALUES (?, ?) "
                    "ON CONFLICT (doc_id) DO UPDATE SET text = excluded.text",
                    (e.doc_id, e.text),
                )

    def list_children(self, doc_id: str) -> list[Document]:
        sql = f"SELECT {_DOC_COLUMNS} FROM documents WHERE parent_id = ? ORDER BY created_at, id"
        return [self._row_to_document(r) for r in self._db.conn().execute(sql, (doc_id,)).fetchall()]

    def get_text(self, doc_id: str) -> str | None:
        row = self._db.conn().execute("SELECT text FROM doc_text WHERE doc_id = ?", (doc_id,)).fetchone()
        return None if row is None else row[0]

    def commit_chunks(
        self, doc_id: str, chunks: Sequence[ChunkDraft], lexical: Sequence[str], model: str
    ) -> list[str]:
        return self.commit_chunks_many([(doc_id, chunks, lexical)], model)

    def commit_chunks_many(
        self, items: Sequence[tuple[str, Sequence[ChunkDraft], Sequence[str]]], model: str
    ) -> list[str]:
        for doc_id, chunks, lexical in items:
            if len(chunks) != len(lexical):
                raise ValueError(f"{len(chunks)} chunks but {len(lexical)} lexical texts of {doc_id!r}")
        with self._db.write() as conn:
            hashes = sorted({c.content_hash for _, chunks, _ in items for c in chunks})
            cached = {
                h
                for (h,) in conn.execute(
                    "SELECT content_hash FROM embeddings WHERE model = ? "
                    "AND content_hash IN (SELECT value FROM json_each(?))",
                    (model, json.dumps(hashes)),
                )
            }
            missing = [h for h in hashes if h not in cached]
            if missing:
                raise ValueError(f"{len(missing)} chunk(s) have no cached embedding for model {model!r}")
            return [old for doc_id, chunks, lexical in items
                    for old in self._commit_chunks(conn, doc_id, chunks, lexical)]

    def _commit_chunks(
        self, conn: sqlite3.Connection, doc_id: str, chunks: Sequence[ChunkDraft], lexical: Sequence[str]
    ) -> list[str]:
        rows = [
            (
                f"{doc_id}:{c.ordinal}",
                doc_id,
                c.ordinal,
                c.text,
                c.start,
                c.end,
                c.page_start,
                c.page_end,
                json.dumps(list(c.heading_path)),
                c.content_hash,
                c.token_count,
                lex,
                c.language,
            )
            for c, lex in zip(chunks, lexical, strict=True)
        ]
        if conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone() is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        conn.execute("DELETE FROM chunks WHERE document_id = ?", (doc_id,))
        try:
            conn.executemany(
                'INSERT INTO chunks (id, document_id, ordinal, text, start, "end", page_start, '
                "page_end, heading_path, content_hash, token_count, lex, language) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"duplicate chunk ordinals for document {doc_id!r}") from exc
        conn.execute(
            "UPDATE documents SET num_chunks = ?, status = ?, error = NULL, error_code = NULL, "
            "failed_step = NULL, updated_at = ? WHERE id = ?",
            (len(rows), DocStatus.INDEXED.value, time.time(), doc_id),
        )
        return self._delete_older_versions(conn, doc_id)

    def delete_document(self, doc_id: str) -> bool:
        with self._db.write() as conn:
            return self._delete_document_tree(conn, doc_id, [])

    # -- embedding cache -------------------------------------------------------------------------------------
    def get_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        if not hashes:
            return {}
        rows = self._db.conn().execute(
            "SELECT content_hash, vector FROM embeddings WHERE model = ? "
            "AND content_hash IN (SELECT value FROM json_each(?))",
            (model, json.dumps(list(dict.fromkeys(hashes)))),
        )
        return {h: from_blob(b) for h, b in rows}

    def put_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        rows = [(model, h, to_blob(v)) for h, v in vectors.items()]
        with self._db.write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO embeddings (model, content_hash, vector) VALUES (?, ?, ?)", rows
            )

    # -- chunks ----------------------------------------------------------------------------------------------
    def get_chunks(self, seqs: Sequence[int]) -> list[Chunk]:
        if len(seqs) == 0:
            return []
        wanted = [int(s) for s in seqs]
        rows = (
            self._db.conn()
            .execute(
                f"{_CHUNK_SELECT} WHERE c.seq IN (SELECT value FROM json_each(?))", (json.dumps(wanted),)
            )
            .fetchall()
        )
        by_seq = {row[0]: row for row in rows}
        return [_chunk(by_seq[s]) for s in wanted if s in by_seq]

    def get_chunk(self, chunk_id: str) -> Chunk | None:
        row = self._db.conn().execute(f"{_CHUNK_SELECT} WHERE c.id = ?", (chunk_id,)).fetchone()
        return None if row is None else _chunk(row)

    def list_chunks(self, doc_id: str) -> list[Chunk]:
        sql = f"{_CHUNK_SELECT} WHERE c.document_id = ? ORDER BY c.ordinal"
        rows = self._db.conn().execute(sql, (doc_id,))
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
            return conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return conn.execute(
            "SELECT COUNT(*) FROM chunks "
            "WHERE document_id IN (SELECT id FROM documents WHERE collection = ?)",
            (collection,),
        ).fetchone()[0]

    def search_lexical(
        self, terms: Sequence[str], filters: SearchFilters | None, limit: int
    ) -> list[tuple[int, float]]:
        clean = _filters.validate(filters)
        query = fts_query(terms)
        if not query or limit <= 0:
            return []
        join, condition, params = _filters.joined_conditions(clean, "c", "d")
        if condition:
            # CROSS JOIN keeps this order: the FTS matches drive, each looks up its chunk and document by key
            sql = (
                "SELECT chunks_fts.rowid, bm25(chunks_fts) AS r FROM chunks_fts "
                f"CROSS JOIN chunks AS c ON c.seq = chunks_fts.rowid {join} "
                f"WHERE chunks_fts MATCH ? AND {condition} ORDER BY r, chunks_fts.rowid LIMIT ?"
            )
        else:
            sql = (
                "SELECT rowid, bm25(chunks_fts) AS r FROM chunks_fts WHERE chunks_fts MATCH ? "
                "ORDER BY r, rowid LIMIT ?"
            )
        rows = self._db.conn().execute(sql, [query, *params, int(limit)]).fetchall()
        # FTS5's bm25() is negative, lower is better: negate so that higher is better.
        return [(seq, -rank) for seq, rank in rows]

    def allowed_seqs(self, filters: SearchFilters) -> np.ndarray:
        condition, params = _filters.chunk_conditions(_filters.validate(filters), "c")
        where = f"WHERE {condition}" if condition else ""
        rows = self._db.conn().execute(f"SELECT c.seq FROM chunks AS c {where}", params).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)
