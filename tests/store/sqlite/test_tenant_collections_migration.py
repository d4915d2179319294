"""A database written before the default collection became the tenant's: the upgrade hands every tenant's
``default`` collection to its tenant, re-opens one a member had closed, and leaves other collections alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ragd.auth.identities import TENANT_OWNER
from ragd.store.sqlite.identities import SqliteIdentityStore
from ragd.store.sqlite.schema import MIGRATIONS

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations

RELEASED = 5
"""Schema version of the last release before the default collection was tenant-owned (``_m005_lookup_indexes``)."""


def _old_database(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:RELEASED]:
        step(conn)
    conn.execute(f"PRAGMA user_version = {RELEASED}")
    conn.executescript("""
        INSERT INTO tenants VALUES ('default', 'default', 0), ('acme', 'acme', 0);
        INSERT INTO users VALUES ('u_member', 'm@example.org', 'x', 'user', 'default', 0, 0, 0),
                                 ('u_admin', 'a@example.org', 'x', 'admin', 'acme', 0, 0, 0),
                                 ('u_other', 'o@example.org', 'x', 'user', 'acme', 0, 0, 0);
        -- a member uploaded first, then closed the shared collection (tenant_access NULL)
        INSERT INTO collections VALUES ('default', 'default', 'u_member', NULL, 0, NULL, 0);
        INSERT INTO collection_grants VALUES ('default', 'default', 'user', 'u_member', 'write');
        -- an admin created acme's and chose read-only; a member's own collection
        INSERT INTO collections VALUES ('acme', 'default', 'u_admin', 'read', NULL, NULL, 0);
        INSERT INTO collections VALUES ('acme', 'team', 'u_other', NULL, NULL, NULL, 0);
    """)
    conn.close()


def test_upgrade_gives_each_default_collection_to_its_tenant(tmp_path: Path) -> None:
    path = tmp_path / "ragd.sqlite3"
    _old_database(path)
    ids = SqliteIdentityStore(path)
    try:
        ids.migrate()
        closed = ids.get_collection("default", "default")
        assert closed is not None and closed.owner_id == TENANT_OWNER and closed.tenant_access == "write"
        assert [g.principal_id for g in closed.grants] == ["u_member"]  # grants are kept
        assert ids.collection_access("default", "u_member") == {"default": "write"}
        chosen = ids.get_collection("acme", "default")
        assert chosen is not None and chosen.owner_id == TENANT_OWNER and chosen.tenant_access == "read"
        team = ids.get_collection("acme", "team")
        assert team is not None and team.owner_id == "u_other" and team.tenant_access is None
    finally:
        ids.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
