"""How an :class:`~ragd.audit.base.AuditEntry` is laid out as a table row, the same on every SQL engine (the
columns of ``audit_log``; JSON kept as text, so rows read the same on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ragd.audit.base import ActorRef, AuditEntry, entry_hash, entry_payload, head_message, signed_message

if TYPE_CHECKING:
    from ragd.audit.signing import AuditSigner

COLUMNS = (
    "seq, ts, tenant_id, actor_id, actor_email, actor_role, actor_key_id, action, target, details, decision, "
    "prev_hash, hash, signature, key_id"
)
"""The columns of ``audit_log`` in the order :func:`entry_from_row` and :func:`row_of` use."""


def json_column(text: str | None, seq: int) -> Any:
    """A JSON column as read back; unreadable JSON keeps its raw text, so that the hash check names the entry."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"_unreadable": text, "_seq": seq}


def entry_from_row(row: Sequence[Any]) -> AuditEntry:
    actor = ActorRef(row[3], row[4], row[5], row[6]) if row[3] is not None else None
    details = json_column(row[9], row[0])
    return AuditEntry(
        seq=row[0],
        ts=row[1],
        tenant_id=row[2],
        actor=actor,
        action=row[7],
        target=row[8],
        details=details if isinstance(details, dict) else {"_not_an_object": details},
        decision=json_column(row[10], row[0]),
        prev_hash=row[11],
        hash=row[12],
        signature=row[13],
        key_id=row[14],
    )


def row_of(e: AuditEntry) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS` for an entry."""
    actor = e.actor
    return (
        e.seq,
        e.ts,
        e.tenant_id,
        actor.user_id if actor else None,
        actor.email if actor else None,
        actor.role if actor else None,
        actor.key_id if actor else None,
        e.action,
        e.target,
        json.dumps(e.details, ensure_ascii=False),
        None if e.decision is None else json.dumps(e.decision, ensure_ascii=False),
        e.prev_hash,
        e.hash,
        e.signature,
        e.key_id,
    )


def like_prefix(prefix: str) -> str:
    """A ``LIKE … ESCAPE '\\'`` pattern matching ``prefix`` literally at the start."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def next_entry(
    signer: AuditSigner,
    head_seq: int,
    head_hash: str,
    tenant_id: str,
    actor: ActorRef | None,
    action: str,
    target: str | None,
    details: dict[str, Any],
    decision: dict[str, Any] | None,
) -> tuple[AuditEntry, str]:
    """The entry that follows the head ``(head_seq, head_hash)``, hashed and signed now, and the signature of the
    new head it makes (:func:`~ragd.audit.base.head_message`)."""
    seq, key_id, ts = head_seq + 1, signer.key_id, time.time()
    payload = entry_payload(seq, ts, tenant_id, actor, action, target, details, decision, head_hash, key_id)
    hash_ = entry_hash(payload)
    signature = signer.sign(signed_message(decision, hash_))
    entry = AuditEntry(
        seq, ts, tenant_id, actor, action, target, details, decision, head_hash, hash_, signature, key_id
    )
    return entry, signer.sign(head_message(seq, hash_))
