"""The PostgreSQL adapter of :class:`~ragd.auth.identities.IdentityStore` (tables of migration
``_m003_identities``, :mod:`ragd.store.postgres.schema_identities`).

Several replicas share these rows, so every check-then-act of the SQLite adapter (which relies on SQLite's single
writer) is one statement or takes row locks here:

* ``use_refresh`` marks a token used with ``UPDATE … WHERE used_at IS NULL AND revoked_at IS NULL RETURNING``: of
  two replicas presenting the same token at once, the second waits for the first's row lock, finds the token used
  and treats it as a replay (its family is revoked), exactly as if it had come later;
* ``add_refresh`` reads the user's ``sessions_after`` under ``FOR SHARE`` and ``end_sessions`` locks the user row
  ``FOR UPDATE`` before it revokes: a refresh token stored by a sign-in or refresh that raced with the end of the
  user's sessions is either revoked by it or refused by the guard, never left alive;
* storing a rotated refresh token and revoking its family (a replay) take the family's advisory lock, so the
  token of a rotation that raced with the detection of a replay is refused rather than left alive;
* e-mails compare as ``lower(email)`` (a unique index on it replaces SQLite's ``COLLATE NOCASE``), and lists sort
  the way SQLite does (byte order, e-mails case-folded) so both engines return the same pages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Literal

import psycopg

from ragd.auth.identities import Access, ApiKey, Collection, Grant, Group, RefreshUse, User
from ragd.errors import Conflict
from ragd.store.postgres import schema
from ragd.store.postgres.connection import Database

Conn = psycopg.Connection[Any]

_USER = (
    "SELECT u.id, u.email, u.role, u.tenant_id, u.password_hash, u.disabled, u.created_at, "
    "ARRAY(SELECT g.name FROM group_members AS gm JOIN groups AS g ON g.id = gm.group_id "
    "WHERE gm.user_id = u.id ORDER BY g.name COLLATE \"C\"), u.sessions_after FROM users AS u"
)
_USER_ORDER = 'lower(u.email) COLLATE "C", u.email COLLATE "C"'
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
    return User(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], [g for g in row[7] if g], row[8])


def _key(row: Sequence[Any]) -> ApiKey:
    scopes = json.loads(row[7]) if row[7] is not None else None
    return ApiKey(row[0], row[1], row[2], row[3], row[4], row[5], row[6], scopes, row[8], row[9], row[10], row[11],
                  row[12])


FAMILY_LOCK = 0x72660001
"""First key of the two-key ``pg_advisory_xact_lock(FAMILY_LOCK, hashtext(family))`` that serialises storing a
refresh token in a family with revoking the family (two-key locks never collide with the one-key ones of
:mod:`ragd.store.postgres.schema`; two families sharing a hash only wait for each other)."""


def _lock_family(c: Conn, family: str) -> None:
    c.execute("SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))", (FAMILY_LOCK, family))


class PostgresIdentityStore:
    def __init__(self, url: str) -> None:
        self._db = Database(url)

    def migrate(self) -> None:
        self._db.migrate(schema.migrate)

    def close(self) -> None:
        self._db.close()

    # -- tenants and users ---------------------------------------------------------------------------------------
    def ensure_tenant(self, tenant_id: str, now: float) -> None:
        self._db.conn().execute(
            "INSERT INTO tenants (id, name, created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (tenant_id, tenant_id, now),
        )

    def tenant_exists(self, tenant_id: str) -> bool:
        return self._db.conn().execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)).fetchone() is not None

    def add_user(self, user: User) -> User:
        try:
            with self._db.write() as c:
                c.execute(
                    "INSERT INTO users (id, email, password_hash, role, tenant_id, disabled, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (user.id, user.email, user.password_hash, user.role, user.tenant_id, bool(user.disabled),
                     user.created_at, user.created_at),
                )
        except psycopg.IntegrityError as exc:
            raise Conflict(f"a user with e-mail {user.email!r} already exists") from exc
        return user

    def get_user(self, user_id: str) -> User | None:
        row = self._db.conn().execute(f"{_USER} WHERE u.id = %s", (user_id,)).fetchone()
        return _user(row) if row else None

    def get_user_by_email(self, email: str) -> User | None:
        row = self._db.conn().execute(f"{_USER} WHERE lower(u.email) = lower(%s)", (email,)).fetchone()
        return _user(row) if row else None

    def list_users(self, tenant_id: str | None, limit: int = 100, offset: int = 0) -> tuple[list[User], int]:
        where, args = ("WHERE u.tenant_id = %s", [tenant_id]) if tenant_id is not None else ("", [])
        with self._db.read() as c:
            total = c.execute(f"SELECT COUNT(*) FROM users AS u {where}", args).fetchone()[0]  # type: ignore[index]
            rows = c.execute(f"{_USER} {where} ORDER BY {_USER_ORDER} LIMIT %s OFFSET %s",
                             [*args, limit, offset]).fetchall()
        return [_user(r) for r in rows], int(total)

    def update_user(
        self, user_id: str, *, role: str | None = None, disabled: bool | None = None,
        password_hash: str | None = None, now: float,
    ) -> None:
        sets, args = ["updated_at = %s"], [now]
        for col, val in (("role", role), ("disabled", disabled), ("password_hash", password_hash)):
            if val is not None:
                sets.append(f"{col} = %s")
                args.append(val)
        self._db.conn().execute(f"UPDATE users SET {', '.join(sets)} WHERE id = %s", [*args, user_id])

    def count_users(self) -> int:
        return int(self._db.conn().execute("SELECT COUNT(*) FROM users").fetchone()[0])

    # -- groups ------------------------------------------------------------------------------------------------
    def add_group(self, group: Group, member_ids: list[str]) -> Group:
        try:
            with self._db.write() as c:
                c.execute("INSERT INTO groups (id, tenant_id, name) VALUES (%s, %s, %s)",
                          (group.id, group.tenant_id, group.name))
                self._insert_members(c, group.id, member_ids)
        except psycopg.IntegrityError as exc:
            raise Conflict(f"a group named {group.name!r} already exists") from exc
        return self.get_group(group.tenant_id, group.name) or group

    @staticmethod
    def _insert_members(c: Conn, group_id: str, member_ids: list[str]) -> None:
        with c.cursor() as cur:
            cur.executemany("INSERT INTO group_members (group_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                            [(group_id, m) for m in member_ids])

    @staticmethod
    def _members(c: Conn, group_id: str) -> list[str]:
        rows = c.execute("SELECT u.email FROM group_members AS gm JOIN users AS u ON u.id = gm.user_id "
                         f"WHERE gm.group_id = %s ORDER BY {_USER_ORDER}", (group_id,)).fetchall()
        return [r[0] for r in rows]

    def get_group(self, tenant_id: str, name: str) -> Group | None:
        with self._db.read() as c:
            row = c.execute("SELECT id, tenant_id, name FROM groups WHERE tenant_id = %s AND name = %s",
                            (tenant_id, name)).fetchone()
            return Group(row[0], row[1], row[2], self._members(c, row[0])) if row else None

    def list_groups(self, tenant_id: str) -> list[Group]:
        with self._db.read() as c:
            rows = c.execute('SELECT id, tenant_id, name FROM groups WHERE tenant_id = %s ORDER BY name COLLATE "C"',
                             (tenant_id,)).fetchall()
            return [Group(r[0], r[1], r[2], self._members(c, r[0])) for r in rows]

    def set_group_members(self, group_id: str, member_ids: list[str]) -> None:
        with self._db.write() as c:
            c.execute("DELETE FROM group_members WHERE group_id = %s", (group_id,))
            self._insert_members(c, group_id, member_ids)

    # -- API keys ----------------------------------------------------------------------------------------------
    def add_key(self, key: ApiKey) -> None:
        self._db.conn().execute(
            "INSERT INTO api_keys (id, prefix, secret_hash, user_id, name, role, scopes, expires_at, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (key.id, key.prefix, key.secret_hash, key.user_id, key.name, key.role,
             None if key.scopes is None else json.dumps(key.scopes), key.expires_at, key.created_at),
        )

    def get_key_by_prefix(self, prefix: str) -> ApiKey | None:
        row = self._db.conn().execute(f"{_KEY} WHERE k.prefix = %s", (prefix,)).fetchone()
        return _key(row) if row else None

    def get_key(self, key_id: str) -> ApiKey | None:
        row = self._db.conn().execute(f"{_KEY} WHERE k.id = %s", (key_id,)).fetchone()
        return _key(row) if row else None

    def list_keys(self, *, tenant_id: str | None = None, user_id: str | None = None) -> list[ApiKey]:
        conds, args = [], []
        if tenant_id is not None:
            conds.append("u.tenant_id = %s")
            args.append(tenant_id)
        if user_id is not None:
            conds.append("k.user_id = %s")
            args.append(user_id)
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        rows = self._db.conn().execute(f"{_KEY} {where} ORDER BY k.created_at DESC, k.id", args).fetchall()
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str, now: float) -> bool:
        rows = self._db.conn().execute(
            "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL", (now, key_id))
        return rows.rowcount > 0

    def touch_key(self, key_id: str, now: float) -> None:
        # At most one write a minute per key: last-used time does not need to cost a write per request.
        self._db.conn().execute(
            "UPDATE api_keys SET last_used_at = %s WHERE id = %s AND (last_used_at IS NULL OR last_used_at < %s)",
            (now, key_id, now - 60),
        )

    # -- refresh tokens ------------------------------------------------------------------------------------------
    def add_refresh(self, token_hash: str, user_id: str, family: str, expires_at: float, now: float) -> bool:
        with self._db.write() as c:
            # FOR SHARE waits for an end_sessions in flight (it holds the row FOR UPDATE) and reads its outcome;
            # while held, end_sessions waits for this insert to commit and then revokes the new token too.
            row = c.execute("SELECT sessions_after FROM users WHERE id = %s FOR SHARE", (user_id,)).fetchone()
            if row is not None and row[0] is not None and row[0] > now:
                return False
            _lock_family(c, family)
            if c.execute("SELECT 1 FROM refresh_tokens WHERE family = %s AND revoked_at IS NOT NULL LIMIT 1",
                         (family,)).fetchone():
                return False  # a replay revoked the family while this refresh ran
            c.execute("INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at, created_at) "
                      "VALUES (%s, %s, %s, %s, %s)", (token_hash, user_id, family, expires_at, now))
            return True

    def use_refresh(self, token_hash: str, now: float) -> RefreshUse | None:
        with self._db.write() as c:
            # One statement: of two replicas presenting the same token, the second waits for the first's row lock
            # and then finds it used (READ COMMITTED re-checks the WHERE on the new row version).
            row = c.execute("UPDATE refresh_tokens SET used_at = %s WHERE token_hash = %s AND used_at IS NULL "
                            "AND revoked_at IS NULL AND expires_at >= %s RETURNING user_id, family",
                            (now, token_hash, now)).fetchone()
            if row is not None:
                return RefreshUse(row[0], row[1])
            row = c.execute("SELECT user_id, family, expires_at, used_at FROM refresh_tokens WHERE token_hash = %s",
                            (token_hash,)).fetchone()
            if row is None or row[2] < now:
                return None
            # Used or revoked, presented again: stolen or replayed. Revoke everything issued from the same login
            # (under the family's lock: a rotation in flight either stored its token before, or is refused after).
            _lock_family(c, row[1])
            c.execute("UPDATE refresh_tokens SET revoked_at = %s WHERE family = %s AND revoked_at IS NULL",
                      (now, row[1]))
            return RefreshUse(row[0], row[1], replayed=True) if row[3] is not None else None

    def revoke_refresh(self, token_hash: str, now: float) -> None:
        with self._db.write() as c:
            row = c.execute("SELECT family FROM refresh_tokens WHERE token_hash = %s", (token_hash,)).fetchone()
            if row is not None:
                _lock_family(c, row[0])
            c.execute("UPDATE refresh_tokens SET revoked_at = %s WHERE revoked_at IS NULL AND family = "
                      "(SELECT family FROM refresh_tokens WHERE token_hash = %s)", (now, token_hash))
            c.execute("DELETE FROM refresh_tokens WHERE expires_at < %s", (now,))

    def end_sessions(self, user_id: str, now: float) -> int:
        with self._db.write() as c:
            # The user row locked first: add_refresh waits for this transaction (or this one for it). The tokens
            # are revoked (their row locks wait for a use_refresh in flight), and only then is the moment of the
            # write taken, so a refresh that used its token before it started before it: the guard in add_refresh
            # and the access-token check both catch it.
            c.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user_id,))
            stamp = max(now, time.time())
            revoked = c.execute("UPDATE refresh_tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL "
                                "AND expires_at >= %s", (stamp, user_id, stamp)).rowcount
            c.execute("UPDATE users SET sessions_after = %s WHERE id = %s", (max(stamp, time.time()), user_id))
            return revoked

    # -- collections ---------------------------------------------------------------------------------------------
    def add_collection(self, collection: Collection) -> Collection:
        try:
            with self._db.write() as c:
                c.execute(
                    "INSERT INTO collections (tenant_id, name, owner_id, tenant_access, redact_ingest, "
                    "redact_answers, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (collection.tenant_id, collection.name, collection.owner_id, collection.tenant_access,
                     collection.redact_ingest, collection.redact_answers, collection.created_at),
                )
                self._write_grants(c, collection.tenant_id, collection.name, collection.grants)
        except psycopg.IntegrityError as exc:
            raise Conflict(f"a collection named {collection.name!r} already exists") from exc
        return self.get_collection(collection.tenant_id, collection.name) or collection

    @staticmethod
    def _write_grants(c: Conn, tenant_id: str, name: str, grants: list[Grant]) -> None:
        c.execute("DELETE FROM collection_grants WHERE tenant_id = %s AND collection = %s", (tenant_id, name))
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO collection_grants (tenant_id, collection, principal_type, principal_id, access) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, collection, principal_type, principal_id) "
                "DO UPDATE SET access = EXCLUDED.access",
                [(tenant_id, name, g.principal_type, g.principal_id, g.access) for g in grants],
            )

    @staticmethod
    def _grants(c: Conn, tenant_id: str, name: str) -> list[Grant]:
        rows = c.execute(
            "SELECT g.principal_type, g.principal_id, g.access, "
            "COALESCE(u.email, gr.name, g.principal_id) FROM collection_grants AS g "
            "LEFT JOIN users AS u ON g.principal_type = 'user' AND u.id = g.principal_id "
            "LEFT JOIN groups AS gr ON g.principal_type = 'group' AND gr.id = g.principal_id "
            'WHERE g.tenant_id = %s AND g.collection = %s '
            'ORDER BY g.principal_type COLLATE "C", COALESCE(u.email, gr.name, g.principal_id) COLLATE "C"',
            (tenant_id, name)).fetchall()
        return [Grant(r[0], r[1], r[2], r[3]) for r in rows]

    def _collection(self, c: Conn, row: Sequence[Any]) -> Collection:
        return Collection(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                          self._grants(c, row[0], row[1]))

    def get_collection(self, tenant_id: str, name: str) -> Collection | None:
        with self._db.read() as c:
            row = c.execute(f"{_COLL} WHERE c.tenant_id = %s AND c.name = %s", (tenant_id, name)).fetchone()
            return self._collection(c, row) if row else None

    def list_collections(self, tenant_id: str) -> list[Collection]:
        with self._db.read() as c:
            rows = c.execute(f'{_COLL} WHERE c.tenant_id = %s ORDER BY c.name COLLATE "C"', (tenant_id,)).fetchall()
            return [self._collection(c, r) for r in rows]

    def update_collection(
        self, tenant_id: str, name: str, *, tenant_access: Access | Literal["keep"] | None = "keep",
        grants: list[Grant] | None = None,
    ) -> None:
        with self._db.write() as c:
            if tenant_access != "keep":
                c.execute("UPDATE collections SET tenant_access = %s WHERE tenant_id = %s AND name = %s",
                          (tenant_access, tenant_id, name))
            if grants is not None:
                self._write_grants(c, tenant_id, name, grants)

    def set_collection_privacy(self, tenant_id: str, name: str, *, redact_ingest: bool | None,
                               redact_answers: bool | None) -> None:
        self._db.conn().execute(
            "UPDATE collections SET redact_ingest = %s, redact_answers = %s WHERE tenant_id = %s AND name = %s",
            (None if redact_ingest is None else bool(redact_ingest),
             None if redact_answers is None else bool(redact_answers), tenant_id, name))

    def collection_privacy(self, tenant_id: str, names: list[str]) -> dict[str, tuple[bool | None, bool | None]]:
        rows = self._db.conn().execute(
            "SELECT name, redact_ingest, redact_answers FROM collections WHERE tenant_id = %s AND name = ANY(%s)",
            (tenant_id, list(names))).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def delete_collection(self, tenant_id: str, name: str) -> None:
        self._db.conn().execute("DELETE FROM collections WHERE tenant_id = %s AND name = %s", (tenant_id, name))

    def collection_access(self, tenant_id: str, user_id: str) -> dict[str, Access]:
        rows = self._db.conn().execute(
            """SELECT c.name, 'write' FROM collections AS c WHERE c.tenant_id = %(t)s AND c.owner_id = %(u)s
               UNION ALL
               SELECT c.name, c.tenant_access FROM collections AS c
                WHERE c.tenant_id = %(t)s AND c.tenant_access IS NOT NULL
               UNION ALL
               SELECT g.collection, g.access FROM collection_grants AS g
                WHERE g.tenant_id = %(t)s AND g.principal_type = 'user' AND g.principal_id = %(u)s
               UNION ALL
               SELECT g.collection, g.access FROM collection_grants AS g
                 JOIN group_members AS gm ON g.principal_type = 'group' AND gm.group_id = g.principal_id
                WHERE g.tenant_id = %(t)s AND gm.user_id = %(u)s""",
            {"t": tenant_id, "u": user_id},
        ).fetchall()
        out: dict[str, Access] = {}
        for name, access in rows:
            if _RANK[access] > _RANK.get(out.get(name, ""), 0):
                out[name] = access
        return out
