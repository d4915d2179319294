"""The PostgreSQL adapter of :class:`~ragd.audit.base.AuditLog`: one hash chain for the whole database, shared by
every API replica (processes on other machines) that appends to it.

Its tables and the triggers guarding them are migration ``_m005_audit``
(:mod:`ragd.store.postgres.schema_audit`): the same ``audit_log``, ``audit_head`` and ``audit_purge_guard`` as on
SQLite (:mod:`ragd.audit.sqlite`), with the same protections.

Serialising appends: SQLite takes the file's write lock (``BEGIN IMMEDIATE``); here every append and every purge
first takes the transaction-level advisory lock :data:`AUDIT_LOCK`, then reads the head. An advisory lock (rather
than ``SELECT … FOR UPDATE`` on the head row) also serialises the very first append, when there is no head row to
lock yet. The lock is held until the transaction ends, so under READ COMMITTED the next holder's first statement
already sees the previous holder's committed head: ``seq`` and ``prev_hash`` are always those of the entry before,
whichever replica wrote it.

Joining the caller's unit of work: appends run in :meth:`Database.write`, which is a savepoint when this thread
already runs a transaction on the same database (``backend.unit_of_work()`` or any port's write), so "delete the
document and record it" commits or rolls back as one; the audit lock is then held until that outer transaction
ends. Append the audit entry *last* in such a unit of work: it keeps the chain's lock short, and it takes the
locks in one order everywhere (:data:`ragd.store.postgres.schema.CHANGES_LOCK` for chunk writes first, then
:data:`AUDIT_LOCK`), so two units of work never wait for each other in a circle (PostgreSQL would abort one of
them with a deadlock error). The advisory key is database-wide: installations in several schemas of one database
serialise their appends together (harmless, each keeps its own chain).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
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
from ragd.store.postgres import schema
from ragd.store.postgres.connection import Database

if TYPE_CHECKING:
    import psycopg
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ragd.auth.actor import Actor

AUDIT_LOCK = 0x72616764_05
"""``pg_advisory_xact_lock`` key every transaction takes before it reads the chain's head to append or purge."""
_BATCH = 1000
_INSERT = f"INSERT INTO audit_log ({COLUMNS}) VALUES ({', '.join(['%s'] * 15)})"


class PostgresAuditLog(DecisionRecorder):
    def __init__(self, url: str, signer: AuditSigner | None) -> None:
        """``signer=None`` opens the log read-only (an auditor holding only the public key): appends fail."""
        self.url = url
        self.signer = signer
        self._db = Database(url)

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
        signer = self._signer()  # before any lock: a read-only log fails without touching the database
        with self._db.write() as c:
            c.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
            return self._append(c, signer, action, tenant_id, ActorRef.of(actor), target, det, dec)

    @staticmethod
    def _append(
        c: psycopg.Connection[Any],
        signer: AuditSigner,
        action: str,
        tenant_id: str,
        actor: ActorRef | None,
        target: str | None,
        details: dict[str, Any],
        decision: dict[str, Any] | None,
    ) -> AuditEntry:
        """Inside a write transaction holding :data:`AUDIT_LOCK`: link to the signed head, hash, sign, insert,
        move the head."""
        head = c.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if head is None:
            if c.execute("SELECT 1 FROM audit_log LIMIT 1").fetchone() is not None:
                raise ServiceUnavailable("the audit chain head is missing (tampering?): run `ragd audit verify`")
            head = (0, GENESIS)
        entry, head_signature = next_entry(
            signer, int(head[0]), str(head[1]), tenant_id, actor, action, target, details, decision
        )
        c.execute(_INSERT, row_of(entry))
        c.execute(
            "INSERT INTO audit_head (id, seq, hash, signature, key_id) VALUES (1, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
            "signature = excluded.signature, key_id = excluded.key_id",
            (entry.seq, entry.hash, head_signature, entry.key_id),
        )
        return entry

    def purge_before(self, ts: float, *, actor: Actor | None = None) -> PurgeResult:
        signer = self._signer()
        with self._db.write() as c:
            c.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
            first, last = c.execute("SELECT MIN(seq), MAX(seq) FROM audit_log").fetchone()
            if last is None:
                return PurgeResult(0)
            keep_from = c.execute("SELECT MIN(seq) FROM audit_log WHERE ts >= %s", (ts,)).fetchone()[0]
            keep_from = last if keep_from is None else min(int(keep_from), int(last))  # keep the newest entry
            if keep_from <= first:
                return PurgeResult(0)
            anchor_seq = keep_from - 1
            anchor_hash = c.execute("SELECT hash FROM audit_log WHERE seq = %s", (anchor_seq,)).fetchone()[0]
            c.execute("INSERT INTO audit_purge_guard (id, before_seq) VALUES (1, %s)", (keep_from,))
            removed = c.execute("DELETE FROM audit_log WHERE seq < %s", (keep_from,)).rowcount
            c.execute("DELETE FROM audit_purge_guard")
            details = {
                "before": ts,
                "removed": removed,
                "first_removed_seq": int(first),
                "anchor_seq": anchor_seq,
                "anchor_hash": anchor_hash,
            }
            entry = self._append(c, signer, PURGE_ACTION, GLOBAL_TENANT, ActorRef.of(actor), None, details, None)
        return PurgeResult(removed, anchor_seq, entry)

    # -- reading ---------------------------------------------------------------------------------------------
    def get(self, seq: int) -> AuditEntry | None:
        row = self._db.conn().execute(f"SELECT {COLUMNS} FROM audit_log WHERE seq = %s", (seq,)).fetchone()
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
            where.append("tenant_id IN (%s, %s)")
            args += [tenant_id, GLOBAL_TENANT]
        if action:
            if action.endswith("*"):
                where.append("action LIKE %s ESCAPE '\\'")
                args.append(like_prefix(action[:-1]))
            else:
                where.append("action = %s")
                args.append(action)
        if actor:
            where.append("(actor_id = %s OR lower(actor_email) = lower(%s))")
            args += [actor, actor]
        if since is not None:
            where.append("ts >= %s")
            args.append(since)
        if until is not None:
            where.append("ts < %s")
            args.append(until)
        sql_where = f" WHERE {' AND '.join(where)}" if where else ""
        with self._db.read() as c:
            total = c.execute(f"SELECT COUNT(*) FROM audit_log{sql_where}", args).fetchone()[0]
            rows = c.execute(
                f"SELECT {COLUMNS} FROM audit_log{sql_where} ORDER BY seq DESC LIMIT %s OFFSET %s",
                [*args, limit, offset],
            ).fetchall()
        return [entry_from_row(r) for r in rows], int(total)

    def verify(self, public_key: Ed25519PublicKey | Iterable[Ed25519PublicKey] | None = None) -> VerifyResult:
        """One snapshot (REPEATABLE READ) for the whole check, entries streamed through a server-side cursor,
        so appends by other replicas meanwhile neither block it nor make it report a false break."""
        keys = trusted_keys(self.public_key if public_key is None else public_key)
        with self._db.read() as c:
            purges = c.execute("SELECT details FROM audit_log WHERE action = %s", (PURGE_ACTION,)).fetchall()
            anchors = anchors_from(d for d in (json_column(r[0], 0) for r in purges) if isinstance(d, dict))
            row = c.execute("SELECT seq, hash, signature, key_id FROM audit_head WHERE id = 1").fetchone()
            head = Head(*row) if row else None
            with c.cursor(name="ragd_audit_verify") as cur:
                cur.itersize = _BATCH
                cur.execute(f"SELECT {COLUMNS} FROM audit_log ORDER BY seq")
                return verify_chain((entry_from_row(r) for r in cur), head, anchors, keys)
