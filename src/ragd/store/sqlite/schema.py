"""The SQLite schema as a short list of numbered migrations.

``PRAGMA user_version`` records how many migrations a database has had. :func:`migrate` applies the missing
ones in one ``BEGIN IMMEDIATE`` transaction, so two processes starting at once never both apply a step.
A new migration is a new function appended to :data:`MIGRATIONS`; released ones are never edited.

Design notes:

* ``chunks.seq`` is ``INTEGER PRIMARY KEY AUTOINCREMENT``: never reused, even after the newest chunk is
  deleted.
* The lexical index ``chunks_fts`` is an FTS5 *external-content* table over ``chunks.lex`` (the analysed
  text), keyed by ``seq``. Triggers keep it and the change log inside the same transaction as the chunk rows,
  for explicit deletes and for ``ON DELETE CASCADE`` alike.
  ``INSERT INTO chunks_fts(chunks_fts) VALUES('rebuild')`` regenerates it from ``chunks`` if ever needed.
* The tokenizer is ``unicode61`` without diacritic removal: analysis (folding, stemming) is the caller's job,
  the index only splits on separators and lowercases.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ragd.errors import ConfigurationError


def _m001_initial(conn: sqlite3.Connection) -> None:
    statements = [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        """CREATE TABLE documents (
            id TEXT PRIMARY KEY,
            collection TEXT NOT NULL,
            filename TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            mime TEXT NOT NULL,
            size INTEGER NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            error_code TEXT,
            failed_step TEXT,
            num_chunks INTEGER NOT NULL DEFAULT 0,
            pages INTEGER,
            title TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            replaces TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX documents_collection_hash ON documents (collection, content_hash)",
        "CREATE INDEX documents_collection_filename ON documents (collection, filename)",
        "CREATE INDEX documents_created ON documents (created_at)",
        "CREATE INDEX documents_status ON documents (status)",
        """CREATE TABLE doc_text (
            doc_id TEXT PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
            text TEXT NOT NULL
        )""",
        """CREATE TABLE chunks (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            page_start INTEGER,
            page_end INTEGER,
            heading_path TEXT NOT NULL DEFAULT '[]',
            content_hash TEXT NOT NULL,
            token_count INTEGER NOT NULL DEFAULT 0,
            lex TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX chunks_document ON chunks (document_id, ordinal)",
        "CREATE INDEX chunks_content_hash ON chunks (content_hash)",
        """CREATE TABLE embeddings (
            model TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (model, content_hash)
        ) WITHOUT ROWID""",
        """CREATE VIRTUAL TABLE chunks_fts USING fts5 (
            lex, content='chunks', content_rowid='seq', tokenize='unicode61 remove_diacritics 0'
        )""",
        """CREATE TABLE changes (
            change_id INTEGER PRIMARY KEY AUTOINCREMENT,
            seq INTEGER NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('add', 'del'))
        )""",
        """CREATE TRIGGER chunks_after_insert AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts (rowid, lex) VALUES (new.seq, new.lex);
            INSERT INTO changes (seq, op) VALUES (new.seq, 'add');
        END""",
        """CREATE TRIGGER chunks_after_delete AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts (chunks_fts, rowid, lex) VALUES ('delete', old.seq, old.lex);
            INSERT INTO changes (seq, op) VALUES (old.seq, 'del');
        END""",
        """CREATE TRIGGER chunks_no_update BEFORE UPDATE ON chunks BEGIN
            SELECT RAISE(ABORT, 'chunks are immutable: delete and insert instead');
        END""",
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            worker_id TEXT,
            locked_until REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX jobs_status ON jobs (status, id)",
        "CREATE INDEX jobs_document ON jobs (document_id)",
    ]
    for sql in statements:
        conn.execute(sql)


def _m002_conversations(conn: sqlite3.Connection) -> None:
    """Chat history, the log of answered questions and feedback (:mod:`ragd.store.sqlite.conversations`)."""
    statements = [
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            title TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX conversations_user ON conversations (user_id, updated_at)",
        """CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL,
            citations TEXT NOT NULL DEFAULT '[]',
            query TEXT,
            found INTEGER,
            created_at REAL NOT NULL,
            UNIQUE (conversation_id, ordinal)
        )""",
        """CREATE TABLE queries (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            query TEXT NOT NULL,
            answer TEXT,
            found INTEGER,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX queries_created ON queries (created_at)",
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id TEXT NOT NULL,
            query_id TEXT,
            message_id TEXT,
            rating INTEGER NOT NULL CHECK (rating IN (1, -1)),
            comment TEXT,
            created_at REAL NOT NULL,
            CHECK ((query_id IS NULL) <> (message_id IS NULL))
        )""",
    ]
    for sql in statements:
        conn.execute(sql)


Migration = Callable[[sqlite3.Connection], None]

#: Applied in order; ``PRAGMA user_version`` = how many have run. Append only.
MIGRATIONS: list[Migration] = [_m001_initial, _m002_conversations]


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply missing migrations in one write transaction; returns how many ran. ``conn`` must autocommit."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        if current > len(MIGRATIONS):
            raise ConfigurationError(
                f"database schema version {current} is newer than this ragd ({len(MIGRATIONS)}): upgrade ragd"
            )
        for step in MIGRATIONS[current:]:
            step(conn)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS) - current
