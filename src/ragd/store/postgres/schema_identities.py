"""PostgreSQL migrations of the identity tables (:mod:`ragd.store.postgres.identities`) and of the conversation
tables (:mod:`ragd.store.postgres.conversations`): the SQLite schema's ``_m002_conversations``,
``_m003_identities``, ``_m007_sessions`` and ``_m008_tenant_owned_default`` as they stand today, in one step each.

Differences from SQLite, each for a reason:

* e-mails are unique case-insensitively through a unique index on ``lower(email)`` (SQLite: ``COLLATE NOCASE``);
  the adapter compares ``lower(email)`` too, so the index serves the look-up;
* flags (``users.disabled``, ``collections.redact_*``, ``found``) are ``boolean`` (SQLite: 0/1 integers);
* ``conversations.seq`` (an identity column) breaks ties between conversations with the same ``updated_at``
  where SQLite uses its ``rowid``; ``feedback.id`` is an identity column (SQLite: AUTOINCREMENT);
* ``_m008`` (the tenant owns every ``default`` collection) is a data fix of older SQLite files: a new PostgreSQL
  database has no rows to fix, and :class:`ragd.auth.access.AccessService` creates ``default`` owned by
  ``@tenant`` on both engines.
"""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

_ROLE = "CHECK (role IN ('admin', 'user', 'api_user', 'viewer'))"
_ACCESS = "CHECK ({} IN ('read', 'write'))"


def _run(conn: Conn, statements: list[str]) -> None:
    for sql in statements:
        conn.execute(sql)  # type: ignore[call-overload]


def _m003_identities(conn: Conn) -> None:
    """Tenants, users (with ``sessions_after``), groups, API keys, refresh tokens, collections and grants."""
    _run(conn, [
        """CREATE TABLE tenants (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at DOUBLE PRECISION NOT NULL
        )""",
        f"""CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL {_ROLE},
            tenant_id TEXT NOT NULL REFERENCES tenants (id),
            disabled BOOLEAN NOT NULL DEFAULT FALSE,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            sessions_after DOUBLE PRECISION
        )""",
        "CREATE UNIQUE INDEX users_email_lower ON users (lower(email))",
        "CREATE INDEX users_tenant ON users (tenant_id, lower(email))",
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
        )""",
        "CREATE INDEX group_members_user ON group_members (user_id)",
        f"""CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            prefix TEXT NOT NULL UNIQUE,
            secret_hash TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL {_ROLE},
            scopes TEXT,
            expires_at DOUBLE PRECISION,
            revoked_at DOUBLE PRECISION,
            last_used_at DOUBLE PRECISION,
            created_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX api_keys_user ON api_keys (user_id)",
        """CREATE TABLE refresh_tokens (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            family TEXT NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL,
            used_at DOUBLE PRECISION,
            revoked_at DOUBLE PRECISION,
            created_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX refresh_tokens_family ON refresh_tokens (family)",
        "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, revoked_at)",
        "CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at)",
        f"""CREATE TABLE collections (
            tenant_id TEXT NOT NULL,
            name TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            tenant_access TEXT {_ACCESS.format('tenant_access')},
            redact_ingest BOOLEAN,
            redact_answers BOOLEAN,
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (tenant_id, name)
        )""",
        f"""CREATE TABLE collection_grants (
            tenant_id TEXT NOT NULL,
            collection TEXT NOT NULL,
            principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group')),
            principal_id TEXT NOT NULL,
            access TEXT NOT NULL {_ACCESS.format('access')},
            PRIMARY KEY (tenant_id, collection, principal_type, principal_id),
            FOREIGN KEY (tenant_id, collection) REFERENCES collections (tenant_id, name) ON DELETE CASCADE
        )""",
        "CREATE INDEX collection_grants_principal ON collection_grants (principal_type, principal_id)",
    ])


def _m004_conversations(conn: Conn) -> None:
    """Chat history, the log of answered questions and feedback."""
    _run(conn, [
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            user_id TEXT NOT NULL,
            title TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX conversations_user ON conversations (user_id, updated_at)",
        "CREATE INDEX conversations_updated ON conversations (updated_at)",
        """CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL,
            citations TEXT NOT NULL DEFAULT '[]',
            query TEXT,
            found BOOLEAN,
            created_at DOUBLE PRECISION NOT NULL,
            UNIQUE (conversation_id, ordinal)
        )""",
        """CREATE TABLE queries (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            query TEXT NOT NULL,
            answer TEXT,
            found BOOLEAN,
            created_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX queries_created ON queries (created_at)",
        """CREATE TABLE feedback (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id TEXT NOT NULL,
            query_id TEXT,
            message_id TEXT,
            rating INTEGER NOT NULL CHECK (rating IN (1, -1)),
            comment TEXT,
            created_at DOUBLE PRECISION NOT NULL,
            CHECK ((query_id IS NULL) <> (message_id IS NULL))
        )""",
        "CREATE INDEX feedback_query ON feedback (query_id)",
        "CREATE INDEX feedback_message ON feedback (message_id)",
        "CREATE INDEX feedback_user ON feedback (user_id, id)",
    ])
