"""The SQLite adapter of :class:`~ragd.auth.identities.IdentityStore`.

Its tables live in the store's database file (migration ``_m003_identities``); it opens its own per-thread
connections like :mod:`ragd.store.sqlite.conversations`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from ragd.auth.identities import Access, ApiKey, Collection, Grant, Group, RefreshUse, User
from ragd.errors import Conflict
from ragd.store.sqlite import schema
from ragd.store.sqlite.connection import Database
from ragd.store.url import sqlite_path

_USER = (
    "SELECT u.id, u.email, u.role, u.tenant_id, u.password_hash, u.disabled, u.created_at, "
    "(SELECT json_group_array(g.name) FROM group_members AS gm JOIN groups AS g ON g.id = gm.group_id "
    "WHERE gm.user_id = u.id), u.sessions_after FROM users AS u"
)
_KEY = (
    "SELECT k.id, k.prefix, k.user_id, u.email, u.tenant_id, k.name, k.role, k.scopes, k.created_at, "
    "k.expires_at, k.revoked_at, k.last_used_at, k.secret_hash FROM api_keys AS k JOIN users AS u ON u.id = k.user_id"
)
_COLL = (
    "SELECT c.tenant_id, c.name, c.owner_id, c.tenant_access, c.created_at, c.redact_ingest, c.redact_answers, "
    "COALESCE((SELECT email FROM users WHERE id = c.owner_id), c.owner_id) FROM collections AS c"
)
_RANK = {"read": 1, "write": 2}


def _user(row: Sequence[Any]) -> User:
    groups = [g for g in json.loads(row[7] or "[]") if g]
    return User(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], sorted(groups), row[8])


def _key(row: Sequence[Any]) -> ApiKey:
    scopes = json.loads(row[7]) if row[7] is not None else None
    return ApiKey(row[0], row[1], row[2], row[3], row[4], row[5], row[6], scopes, row[8], row[9], row[10], row[11],
                  row[12])


def _opt_bool(v: Any) -> bool | None:
    return None if v is None else bool(v)


class SqliteIdentityStore:
    def __init__(self, url_or_path: str | Path) -> None:
        self._db = Database(sqlite_path(url_or_path))

    def migrate(self) -> None:
        self._db.migrate(schema.migrate)

    def close(self) -> None:
        self._db.close()

    # -- tenants and users ---------------------------------------------------------------------------------------
    def ensure_tenant(self, tenant_id: str, now: float) -> None:
        self._db.conn().execute(
            "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (tenant_id, tenant_id, now),
        )

    def tenant_exists(self, tenant_id: str) -> bool:
        return self._db.conn().execute("SELECT 1 FROM tenants WHERE id = ?", (tenant_id,)).fetchone() is not None

    def add_user(self, user: User) -> User:
        try:
            with self._db.write() as c:
                c.execute(
                    "INSERT INTO users (id, email, password_hash, role, tenant_id, disabled, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (user.id, user.email, user.password_hash, user.role, user.tenant_id, int(user.disabled),
                     user.created_at, user.created_at),
                )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"a user with e-mail {user.email!r} already exists") from exc
        return user

    def get_user(self, user_id: str) -> User | None:
        row = self._db.conn().execute(f"{_USER} WHERE u.id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def get_user_by_email(self, email: str) -> User | None:
        row = self._db.conn().execute(f"{_USER} WHERE u.email = ?", (email,)).fetchone()
        return _user(row) if row else None

    def list_users(self, tenant_id: str | None, limit: int = 100, offset: int = 0) -> tuple[list[User], int]:
        where, args = ("WHERE u.tenant_id = ?", [tenant_id]) if tenant_id is not None else ("", [])
        with self._db.read() as c:
            total = c.execute(f"SELECT COUNT(*) FROM users AS u {where}", args).fetchone()[0]
            rows = c.execute(f"{_USER} {where} ORDER BY u.email LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
        return [_user(r) for r in rows], int(total)

    def update_user(
        self, user_id: str, *, role: str | None = None, disabled: bool | None = None,
        password_hash: str | None = None, now: float,
    ) -> None:
        sets, args = ["updated_at = ?"], [now]
        for col, val in (("role", role), ("disabled", None if disabled is None else int(disabled)),
                         ("password_hash", password_hash)):
            if val is not None:
                sets.append(f"{col} = ?")
                args.append(val)
        with self._db.write() as c:
            c.execute(f"UPDATE users SET {', '.join(sets)} WHERE id = ?", [*args, user_id])

    def count_users(self) -> int:
        return int(self._db.conn().execute("SELECT COUNT(*) FROM users").fetchone()[0])

    # -- groups ------------------------------------------------------------------------------------------------
    def add_group(self, group: Group, member_ids: list[str]) -> Group:
        try:
            with self._db.write() as c:
                c.execute("INSERT INTO groups (id, tenant_id, name) VALUES (?, ?, ?)",
                          (group.id, group.tenant_id, group.name))
                c.executemany("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)",
                              [(group.id, m) for m in member_ids])
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"a group named {group.name!r} already exists") from exc
        return self.get_group(group.tenant_id, group.name) or group

    def _members(self, c: sqlite3.Connection, group_id: str) -> list[str]:
        rows = c.execute("SELECT u.email FROM group_members AS gm JOIN users AS u ON u.id = gm.user_id "
                         "WHERE gm.group_id = ? ORDER BY u.email", (group_id,)).fetchall()
        return [r[0] for r in rows]

    def get_group(self, tenant_id: str, name: str) -> Group | None:
        with self._db.read() as c:
            row = c.execute("SELECT id, tenant_id, name FROM groups WHERE tenant_id = ? AND name = ?",
                            (tenant_id, name)).fetchone()
            return Group(row[0], row[1], row[2], self._members(c, row[0])) if row else None

    def list_groups(self, tenant_id: str) -> list[Group]:
        with self._db.read() as c:
            rows = c.execute("SELECT id, tenant_id, name FROM groups WHERE tenant_id = ? ORDER BY name",
                             (tenant_id,)).fetchall()
            return [Group(r[0], r[1], r[2], self._members(c, r[0])) for r in rows]

    def set_group_members(self, group_id: str, member_ids: list[str]) -> None:
        with self._db.write() as c:
            c.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
            c.executemany("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)",
                          [(group_id, m) for m in member_ids])

    # -- API keys ----------------------------------------------------------------------------------------------
    def add_key(self, key: ApiKey) -> None:
        with self._db.write() as c:
            c.execute(
                "INSERT INTO api_keys (id, prefix, secret_hash, user_id, name, role, scopes, expires_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key.id, key.prefix, key.secret_hash, key.user_id, key.name, key.role,
                 None if key.scopes is None else json.dumps(key.scopes), key.expires_at, key.created_at),
            )

    def get_key_by_prefix(self, prefix: str) -> ApiKey | None:
        row = self._db.conn().execute(f"{_KEY} WHERE k.prefix = ?", (prefix,)).fetchone()
        return _key(row) if row else None

    def get_key(self, key_id: str) -> ApiKey | None:
        row = self._db.conn().execute(f"{_KEY} WHERE k.id = ?", (key_id,)).fetchone()
        return _key(row) if row else None

    def list_keys(self, *, tenant_id: str | None = None, user_id: str | None = None) -> list[ApiKey]:
        conds, args = [], []
        if tenant_id is not None:
            conds.append("u.tenant_id = ?")
            args.append(tenant_id)
        if user_id is not None:
            conds.append("k.user_id = ?")
            args.append(user_id)
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        rows = self._db.conn().execute(f"{_KEY} {where} ORDER BY k.created_at DESC", args).fetchall()
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str, now: float) -> bool:
        with self._db.write() as c:
            cur = c.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, key_id))
        return cur.rowcount > 0

    def touch_key(self, key_id: str, now: float) -> None:
        # At most one write a minute per key: last-used time does not need to cost a write per request.
        self._db.conn().execute(
            "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
            (now, key_id, now - 60),
        )

    # -- refresh tokens ------------------------------------------------------------------------------------------
    def add_refresh(self, token_hash: str, user_id: str, family: str, expires_at: float, now: float) -> bool:
        with self._db.write() as c:
            return c.execute(
                "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at, created_at) "
                "SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = ? AND sessions_after > ?) "
                "AND NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE family = ? AND revoked_at IS NOT NULL)",
                (token_hash, user_id, family, expires_at, now, user_id, now, family),
            ).rowcount == 1

    def use_refresh(self, token_hash: str, now: float) -> RefreshUse | None:
        with self._db.write() as c:
            row = c.execute("SELECT user_id, family, expires_at, used_at, revoked_at FROM refresh_tokens "
                            "WHERE token_hash = ?", (token_hash,)).fetchone()
            if row is None or row[2] < now:
                return None
            if row[3] is not None or row[4] is not None:
                # A used token presented again: stolen or replayed. Revoke everything issued from the same login.
                c.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
                          (now, row[1]))
                return RefreshUse(row[0], row[1], replayed=True) if row[3] is not None else None
            c.execute("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash))
            return RefreshUse(row[0], row[1])

    def revoke_refresh(self, token_hash: str, now: float) -> None:
        with self._db.write() as c:
            c.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND family = "
                      "(SELECT family FROM refresh_tokens WHERE token_hash = ?)", (now, token_hash))
            c.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (now,))

    def end_sessions(self, user_id: str, now: float) -> int:
        with self._db.write() as c:
            # The moment of the write, under the write lock: a refresh that used its token before it started
            # before it, so the guard in add_refresh and the access-token check both catch it.
            now = max(now, time.time())
            c.execute("UPDATE users SET sessions_after = ? WHERE id = ?", (now, user_id))
            return c.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL "
                             "AND expires_at >= ?", (now, user_id, now)).rowcount

    # -- collections ---------------------------------------------------------------------------------------------
    def add_collection(self, collection: Collection) -> Collection:
        try:
            with self._db.write() as c:
                c.execute(
                    "INSERT INTO collections (tenant_id, name, owner_id, tenant_access, redact_ingest, "
                    "redact_answers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (collection.tenant_id, collection.name, collection.owner_id, collection.tenant_access,
                     collection.redact_ingest, collection.redact_answers, collection.created_at),
                )
                self._write_grants(c, collection.tenant_id, collection.name, collection.grants)
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"a collection named {collection.name!r} already exists") from exc
        return self.get_collection(collection.tenant_id, collection.name) or collection

    @staticmethod
    def _write_grants(c: sqlite3.Connection, tenant_id: str, name: str, grants: list[Grant]) -> None:
        c.execute("DELETE FROM collection_grants WHERE tenant_id = ? AND collection = ?", (tenant_id, name))
        c.executemany(
            "INSERT OR REPLACE INTO collection_grants (tenant_id, collection, principal_type, principal_id, access) "
            "VALUES (?, ?, ?, ?, ?)",
            [(tenant_id, name, g.principal_type, g.principal_id, g.access) for g in grants],
        )

    def _grants(self, c: sqlite3.Connection, tenant_id: str, name: str) -> list[Grant]:
        rows = c.execute(
            "SELECT g.principal_type, g.principal_id, g.access, "
            "COALESCE(u.email, gr.name, g.principal_id) FROM collection_grants AS g "
            "LEFT JOIN users AS u ON g.principal_type = 'user' AND u.id = g.principal_id "
            "LEFT JOIN groups AS gr ON g.principal_type = 'group' AND gr.id = g.principal_id "
            "WHERE g.tenant_id = ? AND g.collection = ? ORDER BY 1, 4", (tenant_id, name)).fetchall()
        return [Grant(r[0], r[1], r[2], r[3]) for r in rows]

    def _collection(self, c: sqlite3.Connection, row: Sequence[Any]) -> Collection:
        return Collection(row[0], row[1], row[2], row[3], row[4], _opt_bool(row[5]), _opt_bool(row[6]), row[7],
                          self._grants(c, row[0], row[1]))

    def get_collection(self, tenant_id: str, name: str) -> Collection | None:
        with self._db.read() as c:
            row = c.execute(f"{_COLL} WHERE c.tenant_id = ? AND c.name = ?", (tenant_id, name)).fetchone()
            return self._collection(c, row) if row else None

    def list_collections(self, tenant_id: str) -> list[Collection]:
        with self._db.read() as c:
            rows = c.execute(f"{_COLL} WHERE c.tenant_id = ? ORDER BY c.name", (tenant_id,)).fetchall()
            return [self._collection(c, r) for r in rows]

    def update_collection(
        self, tenant_id: str, name: str, *, tenant_access: Access | Literal["keep"] | None = "keep",
        grants: list[Grant] | None = None,
    ) -> None:
        with self._db.write() as c:
            if tenant_access != "keep":
                c.execute("UPDATE collections SET tenant_access = ? WHERE tenant_id = ? AND name = ?",
                          (tenant_access, tenant_id, name))
            if grants is not None:
                self._write_grants(c, tenant_id, name, grants)

    def set_collection_privacy(self, tenant_id: str, name: str, *, redact_ingest: bool | None,
                               redact_answers: bool | None) -> None:
        with self._db.write() as c:
            c.execute("UPDATE collections SET redact_ingest = ?, redact_answers = ? WHERE tenant_id = ? AND name = ?",
                      (None if redact_ingest is None else int(redact_ingest),
                       None if redact_answers is None else int(redact_answers), tenant_id, name))

    def collection_privacy(self, tenant_id: str, names: list[str]) -> dict[str, tuple[bool | None, bool | None]]:
        rows = self._db.conn().execute(
            "SELECT name, redact_ingest, redact_answers FROM collections WHERE tenant_id = ? "
            "AND name IN (SELECT value FROM json_each(?))", (tenant_id, json.dumps(names))).fetchall()
        return {r[0]: (_opt_bool(r[1]), _opt_bool(r[2])) for r in rows}

    def delete_collection(self, tenant_id: str, name: str) -> None:
        with self._db.write() as c:
            c.execute("DELETE FROM collections WHERE tenant_id = ? AND name = ?", (tenant_id, name))

    def collection_access(self, tenant_id: str, user_id: str) -> dict[str, Access]:
        rows = self._db.conn().execute(
            """SELECT c.name, 'write' FROM collections AS c WHERE c.tenant_id = :t AND c.owner_id = :u
               UNION ALL
               SELECT c.name, c.tenant_access FROM collections AS c
                WHERE c.tenant_id = :t AND c.tenant_access IS NOT NULL
               UNION ALL
               SELECT g.collection, g.access FROM collection_grants AS g
                WHERE g.tenant_id = :t AND g.principal_type = 'user' AND g.principal_id = :u
               UNION ALL
               SELECT g.collection, g.access FROM collection_grants AS g
                 JOIN group_members AS gm ON g.principal_type = 'group' AND gm.group_id = g.principal_id
                WHERE g.tenant_id = :t AND gm.user_id = :u""",
            {"t": tenant_id, "u": user_id},
        ).fetchall()
        out: dict[str, Access] = {}
        for name, access in rows:
            if _RANK[access] > _RANK.get(out.get(name, ""), 0):
                out[name] = access
        return out
