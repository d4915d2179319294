"""The SQLite adapter of :class:`~ragd.audit.base.AuditLog`.

Its tables live in the same database file as the documents, created by migration ``_m004_audit`` of
:mod:`ragd.store.sqlite.schema`; it opens its own per-thread connections (WAL lets them work beside the store's).

* ``audit_log``: one row per entry. Triggers refuse every ``UPDATE``, every ``DELETE`` not covered by a purge
  guard, and every ``INSERT`` that is not the next ``seq`` after the signed head.
* ``audit_head``: one row, the newest ``(seq, hash)`` and its signature; appends read the chain's end from it
  (not from ``MAX(seq)``), so wiping entries and appending again still leaves a gap that ``verify`` reports.
  Deleting it is refused by a trigger.
* ``audit_purge_guard``: written, used and removed inside the one ``BEGIN IMMEDIATE`` transaction of
  :meth:`SqliteAuditLog.purge_before`. The delete trigger lets a row go only while a guard row covers its
  ``seq`` (so a plain ``DELETE`` fails), and only an oldest-first prefix; the guard refuses to cover the newest
  entry, and no entry can be appended while a guard exists.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragd.audit.base import (
    GENESIS,
    GLOBAL_TENANT,
    PURGE_ACTION,
    ActorRef,
    AuditEntry,
    DecisionRecorder,
    PurgeResult,
    VerifyResult,
    normalise,
)
from ragd.audit.chain import Head, anchors_from, trusted_keys, verify_chain
from ragd.audit.rows import COLUMNS, entry_from_row, json_column, like_prefix, next_entry, row_of
from ragd.audit.signing import AuditSigner
from ragd.errors import ConfigurationError, ServiceUnavailable
from ragd.store.sqlite import schema
from ragd.store.sqlite.connection import Database
from ragd.store.url import sqlite_path

if TYPE_CHECKING:
    import sqlite3

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ragd.auth.actor import Actor

_BATCH = 1000


class SqliteAuditLog(DecisionRecorder):
    def __init__(self, url_or_path: str | Path, signer: AuditSigner | None) -> None:
        """``signer=None`` opens the log read-only (an auditor holding only the public key): appends fail."""
        self.path = sqlite_path(url_or_path)
        self.signer = signer
        self._db = Database(self.path)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._signer().public_key

    @property
    def key_id(self) -> str:
        return self._signer().key_id

    def _signer(self) -> AuditSigner:
        if self.signer is None:
            raise ConfigurationError("this audit log was opened without its signing key (read-only)")
        return self.signer

    def migrate(self) -> None:
        self._db.migrate(schema.migrate)

    def close(self) -> None:
        self._db.close()

    # -- writing ---------------------------------------------------------------------------------------------
    def append(
        self,
        action: str,
        *,
        tenant_id: str,
        actor: Actor | None,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        decision: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        if not action or not tenant_id:
            raise ValueError("an audit entry needs an action and a tenant")
        det, dec = normalise(details) or {}, normalise(decision)
        with self._db.write() as c:
            return self._append(c, action, tenant_id, ActorRef.of(actor), target, det, dec)

    def _append(
        self,
        c: sqlite3.Connection,
        action: str,
        tenant_id: str,
        actor: ActorRef | None,
        target: str | None,
        details: dict[str, Any],
        decision: dict[str, Any] | None,
    ) -> AuditEntry:
        """Inside a write transaction: link to the signed head, hash, sign, insert, move the head."""
        head = c.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if head is None:
            if c.execute("SELECT 1 FROM audit_log LIMIT 1").fetchone() is not None:
                raise ServiceUnavailable("the audit chain head is missing (tampering?): run `ragd audit verify`")
            head = (0, GENESIS)
        entry, head_signature = next_entry(
            self._signer(), int(head[0]), str(head[1]), tenant_id, actor, action, target, details, decision
        )
        c.execute(f"INSERT INTO audit_log ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  row_of(entry))
        c.execute(
            "INSERT INTO audit_head (id, seq, hash, signature, key_id) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) "
            "DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature, "
            "key_id = excluded.key_id",
            (entry.seq, entry.hash, head_signature, entry.key_id),
        )
        return entry

    def purge_before(self, ts: float, *, actor: Actor | None = None) -> PurgeResult:
        with self._db.write() as c:
            first, last = c.execute("SELECT MIN(seq), MAX(seq) FROM audit_log").fetchone()
            if last is None:
                return PurgeResult(0)
            keep_from = c.execute("SELECT MIN(seq) FROM audit_log WHERE ts >= ?", (ts,)).fetchone()[0]
            keep_from = last if keep_from is None else min(int(keep_from), int(last))  # keep the newest entry
            if keep_from <= first:
                return PurgeResult(0)
            anchor_seq = keep_from - 1
            anchor_hash = c.execute("SELECT hash FROM audit_log WHERE seq = ?", (anchor_seq,)).fetchone()[0]
            c.execute("INSERT INTO audit_purge_guard (id, before_seq) VALUES (1, ?)", (keep_from,))
            removed = c.execute("DELETE FROM audit_log WHERE seq < ?", (keep_from,)).rowcount
            c.execute("DELETE FROM audit_purge_guard")
            details = {
                "before": ts,
                "removed": removed,
                "first_removed_seq": int(first),
                "anchor_seq": anchor_seq,
                "anchor_hash": anchor_hash,
            }
            entry = self._append(c, PURGE_ACTION, GLOBAL_TENANT, ActorRef.of(actor), None, details, None)
        return PurgeResult(removed, anchor_seq, entry)

    # -- reading ---------------------------------------------------------------------------------------------
    def get(self, seq: int) -> AuditEntry | None:
        row = self._db.conn().execute(f"SELECT {COLUMNS} FROM audit_log WHERE seq = ?", (seq,)).fetchone()
        return entry_from_row(row) if row else None

    def list(
        self,
        tenant_id: str | None = None,
        *,
        action: str | None = None,
        actor: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[builtins.list[AuditEntry], int]:
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        if tenant_id is not None:
            where.append("tenant_id IN (?, ?)")
            args += [tenant_id, GLOBAL_TENANT]
        if action:
            if action.endswith("*"):
                where.append("action LIKE ? ESCAPE '\\'")
                args.append(like_prefix(action[:-1]))
            else:
                where.append("action = ?")
                args.append(action)
        if actor:
            where.append("(actor_id = ? OR actor_email = ? COLLATE NOCASE)")
            args += [actor, actor]
        if since is not None:
            where.append("ts >= ?")
            args.append(since)
        if until is not None:
            where.append("ts < ?")
            args.append(until)
        sql_where = f" WHERE {' AND '.join(where)}" if where else ""
        with self._db.read() as c:
            total = c.execute(f"SELECT COUNT(*) FROM audit_log{sql_where}", args).fetchone()[0]
            rows = c.execute(
                f"SELECT {COLUMNS} FROM audit_log{sql_where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [entry_from_row(r) for r in rows], int(total)

    def verify(self, public_key: Ed25519PublicKey | Iterable[Ed25519PublicKey] | None = None) -> VerifyResult:
        keys = trusted_keys(self.public_key if public_key is None else public_key)
        with self._db.read() as c:
            purges = c.execute("SELECT details FROM audit_log WHERE action = ?", (PURGE_ACTION,)).fetchall()
            anchors = anchors_from(d for d in (json_column(r[0], 0) for r in purges) if isinstance(d, dict))
            row = c.execute("SELECT seq, hash, signature, key_id FROM audit_head WHERE id = 1").fetchone()
            head = Head(*row) if row else None
            return verify_chain(self._scan(c), head, anchors, keys)

    @staticmethod
    def _scan(c: sqlite3.Connection) -> Iterator[AuditEntry]:
        cur = c.execute(f"SELECT {COLUMNS} FROM audit_log ORDER BY seq")
        while rows := cur.fetchmany(_BATCH):
            yield from (entry_from_row(r) for r in rows)
