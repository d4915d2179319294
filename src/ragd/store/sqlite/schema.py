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
from ragd.store.sqlite.schema_children import _m011_child_documents
from ragd.store.sync_state import SYNC_FILES_TABLE, SYNC_LEASES_TABLE


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


def _m003_identities(conn: sqlite3.Connection) -> None:
    """Tenants, users, groups, API keys, refresh tokens, collections and their grants (:mod:`ragd.auth`);
    documents gain their tenant and uploader. Documents of databases made before this step belong to the
    ``default`` tenant."""
    statements = [
        "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL)",
        """CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'user', 'api_user', 'viewer')),
            tenant_id TEXT NOT NULL REFERENCES tenants (id),
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX users_tenant ON users (tenant_id, email)",
        """CREATE TABLE groups (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL REFERENCES tenants (id),
            name TEXT NOT NULL,
            UNIQUE (tenant_id, name)
        )""",
        """CREATE TABLE group_members (
            group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            PRIMARY KEY (group_id, user_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            prefix TEXT NOT NULL UNIQUE,
            secret_hash TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL CHECK (role IN ('admin', 'user', 'api_user', 'viewer')),
            scopes TEXT,
            expires_at REAL,
            revoked_at REAL,
            last_used_at REAL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX api_keys_user ON api_keys (user_id)",
        """CREATE TABLE refresh_tokens (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            family TEXT NOT NULL,
            expires_at REAL NOT NULL,
            used_at REAL,
            revoked_at REAL,
            created_at REAL NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX refresh_tokens_family ON refresh_tokens (family)",
        """CREATE TABLE collections (
            tenant_id TEXT NOT NULL,
            name TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            tenant_access TEXT CHECK (tenant_access IN ('read', 'write')),
            redact_ingest INTEGER,
            redact_answers INTEGER,
            created_at REAL NOT NULL,
            PRIMARY KEY (tenant_id, name)
        ) WITHOUT ROWID""",
        """CREATE TABLE collection_grants (
            tenant_id TEXT NOT NULL,
            collection TEXT NOT NULL,
            principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group')),
            principal_id TEXT NOT NULL,
            access TEXT NOT NULL CHECK (access IN ('read', 'write')),
            PRIMARY KEY (tenant_id, collection, principal_type, principal_id),
            FOREIGN KEY (tenant_id, collection) REFERENCES collections (tenant_id, name) ON DELETE CASCADE
        ) WITHOUT ROWID""",
        "CREATE INDEX collection_grants_principal ON collection_grants (principal_type, principal_id)",
        "ALTER TABLE documents ADD COLUMN tenant_id TEXT NOT NULL DEFAULT 'default'",
        "ALTER TABLE documents ADD COLUMN uploaded_by TEXT",
        "CREATE INDEX documents_tenant_collection ON documents (tenant_id, collection, created_at)",
    ]
    for sql in statements:
        conn.execute(sql)


def _m004_audit(conn: sqlite3.Connection) -> None:
    """The hash-chained audit log (:mod:`ragd.audit.sqlite`): entries can be neither updated nor deleted, except
    an oldest-first prefix by retention, which must cover them with a purge guard row inside its transaction."""
    statements = [
        """CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            tenant_id TEXT NOT NULL,
            actor_id TEXT,
            actor_email TEXT,
            actor_role TEXT,
            actor_key_id TEXT,
            action TEXT NOT NULL,
            target TEXT,
            details TEXT NOT NULL DEFAULT '{}',
            decision TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            signature TEXT NOT NULL,
            key_id TEXT NOT NULL
        )""",
        "CREATE INDEX audit_log_tenant ON audit_log (tenant_id, seq)",
        "CREATE INDEX audit_log_action ON audit_log (action, seq)",
        "CREATE INDEX audit_log_ts ON audit_log (ts)",
        """CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            hash TEXT NOT NULL,
            signature TEXT NOT NULL,
            key_id TEXT NOT NULL
        )""",
        "CREATE TABLE audit_purge_guard (id INTEGER PRIMARY KEY CHECK (id = 1), before_seq INTEGER NOT NULL)",
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
            SELECT RAISE(ABORT, 'audit entries are immutable');
        END""",
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        WHEN NOT EXISTS (SELECT 1 FROM audit_purge_guard WHERE old.seq < before_seq) BEGIN
            SELECT RAISE(ABORT, 'audit entries can only be removed by retention (ragd purge)');
        END""",
        """CREATE TRIGGER audit_log_append_only BEFORE INSERT ON audit_log
        WHEN EXISTS (SELECT 1 FROM audit_purge_guard)
          OR new.seq <> COALESCE((SELECT seq FROM audit_head WHERE id = 1), 0) + 1 BEGIN
            SELECT RAISE(ABORT, 'audit entries are appended at the end of the chain only');
        END""",
        """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head BEGIN
            SELECT RAISE(ABORT, 'the audit chain head cannot be deleted');
        END""",
        """CREATE TRIGGER audit_purge_guard_keeps_newest BEFORE INSERT ON audit_purge_guard
        WHEN new.before_seq > (SELECT MAX(seq) FROM audit_log) BEGIN
            SELECT RAISE(ABORT, 'retention always keeps the newest audit entry');
        END""",
    ]
    for sql in statements:
        conn.execute(sql)


Migration = Callable[[sqlite3.Connection], None]

#: Applied in order; ``PRAGMA user_version`` = how many have run. Append only.
def _m005_lookup_indexes(conn: sqlite3.Connection) -> None:
    """Indexes for the upload-time lookups (same bytes, or same file name, in a tenant's collection). Without them
    SQLite walked ``documents_tenant_collection`` over the whole collection for each lookup, so storing a folder
    took time quadratic in its size."""
    statements = [
        "DROP INDEX documents_collection_filename",
        "CREATE INDEX documents_lookup_hash ON documents (tenant_id, collection, content_hash, created_at)",
        "CREATE INDEX documents_lookup_filename ON documents (tenant_id, collection, filename, created_at)",
    ]
    for sql in statements:
        conn.execute(sql)


def _m006_unique_documents(conn: sqlite3.Connection) -> None:
    """Identical bytes are one document per tenant and collection, enforced by a unique index (concurrent uploads
    raced past a look-up before, issue 14); each document names its version ``lineage`` (the id of the lineage's
    first document), so that indexing a new version removes every older one of the same lineage.

    Copies left by that race in older databases are removed before the index is built: of each group of documents
    with the same bytes, the one furthest along (indexed first, then in progress, then failed) and oldest stays;
    the others go with their text, chunks (logged as deletions for the derived indexes) and jobs. Their originals
    stay on disk as orphans until ``ragd doctor --repair``."""
    rank = "CASE status WHEN 'indexed' THEN 0 WHEN 'failed' THEN 2 ELSE 1 END"
    conn.execute(
        f"""CREATE TEMP TABLE m006_surplus AS SELECT id FROM (
            SELECT id, ROW_NUMBER() OVER (PARTITION BY tenant_id, collection, content_hash
                                          ORDER BY {rank}, created_at, rowid) AS n FROM documents
        ) WHERE n > 1"""
    )
    for table, column in (("chunks", "document_id"), ("doc_text", "doc_id"), ("jobs", "document_id"),
                          ("documents", "id")):
        conn.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM temp.m006_surplus)")
    conn.execute("DROP TABLE temp.m006_surplus")
    conn.execute("UPDATE documents SET replaces = NULL WHERE replaces NOT IN (SELECT id FROM documents)")
    conn.execute("ALTER TABLE documents ADD COLUMN lineage TEXT")
    # a lineage is the first document of a chain of ``replaces`` (computed once into a keyed table)
    conn.execute("CREATE TEMP TABLE m006_lineage (id TEXT PRIMARY KEY, root TEXT NOT NULL) WITHOUT ROWID")
    conn.execute(
        """INSERT INTO temp.m006_lineage (id, root) WITH RECURSIVE chain (id, root) AS (
            SELECT id, id FROM documents WHERE replaces IS NULL
            UNION ALL SELECT d.id, chain.root FROM documents AS d JOIN chain ON d.replaces = chain.id
        ) SELECT id, root FROM chain"""
    )
    conn.execute("UPDATE documents SET lineage = COALESCE((SELECT root FROM temp.m006_lineage AS l "
                 "WHERE l.id = documents.id), id)")  # COALESCE: a cycle of replaces (never made)
    conn.execute("DROP TABLE temp.m006_lineage")
    statements = [
        "DROP INDEX documents_lookup_hash",
        "CREATE UNIQUE INDEX documents_unique_hash ON documents (tenant_id, collection, content_hash)",
        "CREATE INDEX documents_lineage ON documents (lineage)",
    ]
    for sql in statements:
        conn.execute(sql)


def _m007_sessions(conn: sqlite3.Connection) -> None:
    """Ending a user's sessions (password change or reset, disabling, role change, sign-out everywhere): access
    tokens issued before ``users.sessions_after`` are refused, and all their refresh tokens are found by user."""
    conn.execute("ALTER TABLE users ADD COLUMN sessions_after REAL")
    conn.execute("CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, revoked_at)")


def _m008_tenant_owned_default(conn: sqlite3.Connection) -> None:
    """Every tenant's ``default`` collection belongs to the tenant (``owner_id = '@tenant'``,
    :data:`ragd.auth.identities.TENANT_OWNER`), not to the member who uploaded first. One a member had closed or made
    read-only (only its member owner could, besides an admin) is opened to the tenant again; an admin owner's choice
    of tenant access is kept. Grants are kept. (Under another ``RAGD_DEFAULT_COLLECTION`` the reserved name is
    protected at run time all the same: :meth:`ragd.auth.access.AccessService.tenant_owned`.)"""
    conn.execute(
        "UPDATE collections SET tenant_access = 'write' WHERE name = 'default' AND owner_id <> '@tenant' "
        "AND owner_id NOT IN (SELECT id FROM users WHERE role = 'admin') AND owner_id <> 'local'"
    )
    conn.execute("UPDATE collections SET owner_id = '@tenant' WHERE name = 'default'")


def _m009_job_queues(conn: sqlite3.Connection) -> None:
    """Jobs gain their ``queue`` (``interactive`` or ``bulk``; jobs of older databases are ``interactive``), a
    ``not_before`` (a retry's backoff: no claim by ``claim_jobs`` before it) and a ``published_at`` (when a broker
    message was last sent for it: ``NULL`` never). Partial indexes serve the claims of one queue and the sweeper's
    look-ups (jobs never published, backed-off retries) without walking every queued job, and the counts by queue and
    status (metrics)."""
    statements = [
        "ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'interactive' "
        "CHECK (queue IN ('interactive', 'bulk'))",
        "ALTER TABLE jobs ADD COLUMN not_before REAL",
        "ALTER TABLE jobs ADD COLUMN published_at REAL",
        "CREATE INDEX jobs_queued ON jobs (queue, id) WHERE status = 'queued'",
        "CREATE INDEX jobs_unpublished ON jobs (created_at) WHERE status = 'queued' AND published_at IS NULL",
        "CREATE INDEX jobs_backoff ON jobs (not_before) WHERE status = 'queued' AND not_before IS NOT NULL",
        "CREATE INDEX jobs_queue_status ON jobs (queue, status)",
    ]
    for sql in statements:
        conn.execute(sql)


def _m010_sync_files(conn: sqlite3.Connection) -> None:
    """Synced folders (``ragd sync``, :mod:`ragd.store.sync_state`): which document holds each file of a folder, and
    the file's hash, size and modification time when it was last synced; and which server process runs a configured
    folder's sync (``sync.folders``), until when."""
    conn.execute(SYNC_FILES_TABLE.format(real="REAL"))
    conn.execute("CREATE INDEX sync_files_document ON sync_files (document_id)")
    conn.execute(SYNC_LEASES_TABLE.format(real="REAL"))


def _m012_chunk_language(conn: sqlite3.Connection) -> None:
    """Chunks gain ``language``: the ISO 639-1 code their lexical text was analysed in (``''``, unknown, for the
    chunks indexed before, until ``ragd reindex``), indexed so that counting the chunks per language
    (``chunk_languages``, the languages a query may be analysed in) reads the index, not the chunks' text."""
    conn.execute("ALTER TABLE chunks ADD COLUMN language TEXT NOT NULL DEFAULT ''")
    conn.execute("CREATE INDEX chunks_language ON chunks (language)")


MIGRATIONS: list[Migration] = [
    _m001_initial, _m002_conversations, _m003_identities, _m004_audit, _m005_lookup_indexes,
    _m006_unique_documents, _m007_sessions, _m008_tenant_owned_default, _m009_job_queues, _m010_sync_files,
    _m011_child_documents, _m012_chunk_language,
]


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
