"""The ``AuditLog`` port: an append-only, hash-chained, signed record of who did what.

Contract (every adapter keeps it; :mod:`ragd.testing.audit_conformance` pins it, run on SQLite and PostgreSQL):

* :meth:`AuditLog.append` adds one :class:`AuditEntry` at the end of one global chain. ``seq`` grows by exactly
  one per entry and is never reused. Appends are serialised across threads, processes and replicas in the
  database (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory transaction lock), so the chain never forks, and
  an append joins the transaction its thread already runs on the same database (one unit of work).
* Each entry's ``hash`` is ``sha256`` over :func:`canonical_json` of its fields (``seq, ts, tenant_id, actor,
  action, target, details, decision, key_id``) and the previous entry's hash (``prev_hash``; the first entry
  of a database uses :data:`GENESIS`). Each entry carries an Ed25519 ``signature`` over the canonical JSON of
  ``{"decision", "hash"}``: for a decision record (``query.answered``) it covers the decision itself and, through
  the hash, the entry and everything before it. The newest ``(seq, hash)`` is signed again as the chain's head,
  so cutting entries off the end is detected too.
* The store refuses ``UPDATE`` and ``DELETE`` of entries. Only :meth:`AuditLog.purge_before` removes entries,
  always an oldest-first prefix and never the newest one, and it appends an ``audit.purged`` entry naming the
  last removed entry (``anchor_seq``, ``anchor_hash``). :meth:`AuditLog.verify` starts at the first remaining
  entry and accepts its ``prev_hash`` when a later ``audit.purged`` entry records it as anchor.
* :meth:`AuditLog.list` filters by tenant (entries of :data:`GLOBAL_TENANT` — retention runs — are listed for
  every tenant), action (exact, or a prefix ending in ``*``: ``"document.*"``), actor (user id or e-mail) and
  time (``since <= ts < until``), newest first, returning ``(page, total)``.
* Timestamps are epoch seconds (float). ``details`` and ``decision`` are JSON objects; they are stored as
  given after a JSON round trip (tuples become lists), and must not contain NaN or infinities.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ragd.audit.signing import AuditSigner
    from ragd.auth.actor import Actor

GENESIS = "0" * 64
"""``prev_hash`` of the very first entry of a database."""
GLOBAL_TENANT = "*"
"""Tenant of entries that concern every tenant (retention runs); listed for every tenant's administrators."""
DECISION_ACTION = "query.answered"
PURGE_ACTION = "audit.purged"
RETENTION_ACTION = "retention.purged"
_HASH_DOMAIN = b"ragd-audit-entry-v1\n"
_SIG_DOMAIN = b"ragd-audit-signature-v1\n"
_HEAD_DOMAIN = b"ragd-audit-head-v1\n"


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed and signed: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def normalise(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``value`` as it will read back from the store (a JSON round trip). ``ValueError`` if not JSON."""
    if value is None:
        return None
    try:
        return json.loads(canonical_json(dict(value)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit details must be plain JSON: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ActorRef:
    """Who acted, as recorded: a copy of the :class:`~ragd.auth.actor.Actor` fields that identify them."""

    user_id: str
    email: str
    role: str
    key_id: str | None = None

    @classmethod
    def of(cls, actor: Actor | None) -> ActorRef | None:
        if actor is None:
            return None
        return cls(actor.user_id, actor.email, str(actor.role), actor.key_id)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    ts: float
    tenant_id: str
    actor: ActorRef | None
    action: str
    target: str | None
    details: dict[str, Any]
    decision: dict[str, Any] | None
    prev_hash: str
    hash: str
    signature: str
    """Base64 Ed25519 signature of :func:`signed_message`."""
    key_id: str
    """Fingerprint of the public key that signed (:attr:`ragd.audit.signing.AuditSigner.key_id`)."""

    def payload(self) -> dict[str, Any]:
        """The fields covered by :attr:`hash` (everything but the hash and the signature)."""
        return entry_payload(
            self.seq,
            self.ts,
            self.tenant_id,
            self.actor,
            self.action,
            self.target,
            self.details,
            self.decision,
            self.prev_hash,
            self.key_id,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the HTTP API and ``ragd audit list --json``."""
        body = asdict(self)
        body["actor"] = asdict(self.actor) if self.actor else None
        return body


def entry_payload(
    seq: int,
    ts: float,
    tenant_id: str,
    actor: ActorRef | None,
    action: str,
    target: str | None,
    details: dict[str, Any],
    decision: dict[str, Any] | None,
    prev_hash: str,
    key_id: str,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "ts": ts,
        "tenant_id": tenant_id,
        "actor": asdict(actor) if actor else None,
        "action": action,
        "target": target,
        "details": details,
        "decision": decision,
        "prev_hash": prev_hash,
        "key_id": key_id,
    }


def entry_hash(payload: Mapping[str, Any]) -> str:
    """``sha256`` (hex) of the canonical JSON of an entry's payload (which includes ``prev_hash``)."""
    return hashlib.sha256(_HASH_DOMAIN + canonical_json(dict(payload)).encode()).hexdigest()


def signed_message(decision: dict[str, Any] | None, hash_: str) -> bytes:
    """What an entry's signature covers: its decision record (or null) and its hash."""
    return _SIG_DOMAIN + canonical_json({"decision": decision, "hash": hash_}).encode()


def head_message(seq: int, hash_: str) -> bytes:
    """What the head signature covers: the newest entry's seq and hash."""
    return _HEAD_DOMAIN + canonical_json({"seq": seq, "hash": hash_}).encode()


def answer_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _score(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _hit(h: Any) -> dict[str, Any]:
    """A retrieved passage as recorded: a ScoredChunk, a Citation, a mapping or a ``(chunk_id, score)`` pair."""
    if isinstance(h, Mapping):
        return {"chunk_id": str(h.get("chunk_id", h.get("id"))), "score": _score(h.get("score"))}
    if isinstance(h, tuple):
        return {"chunk_id": str(h[0]), "score": _score(h[1])}
    chunk = getattr(h, "chunk", None)
    chunk_id = chunk.id if chunk is not None else h.chunk_id
    out: dict[str, Any] = {"chunk_id": str(chunk_id), "score": _score(h.score)}
    doc = chunk.document_id if chunk is not None else getattr(h, "document_id", None)
    if doc is not None:
        out["document_id"] = str(doc)
    return out


def decision_record(
    actor: Actor | None,
    question: str,
    hits: Iterable[Any],
    answer_text: str | None,
    model: str,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The signed record of one answered question: who asked what, which passages (ids and scores, in rank
    order) the answer was built from, the sha256 of the answer text (not the text), the model and settings."""
    ref = ActorRef.of(actor)
    return {
        "question": question,
        "user": {"user_id": ref.user_id, "email": ref.email} if ref else None,
        "retrieved": [_hit(h) for h in hits],
        "answer_sha256": None if answer_text is None else answer_hash(answer_text),
        "model": model,
        "settings": normalise(settings or {}),
    }


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    """Entries whose hash, link and signature were checked (all of them when ``ok``)."""
    first_bad_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class PurgeResult:
    removed: int
    anchor_seq: int | None = None
    entry: AuditEntry | None = None
    """The ``audit.purged`` entry appended (None when nothing was old enough)."""


class AuditLog(Protocol):
    """See the module docstring for the contract."""

    signer: AuditSigner | None
    """Signs this log's entries; its public half (``public_key_b64``, ``public_key_pem``) verifies them.
    ``None``: the log was opened read-only (appends and the key properties raise ``ConfigurationError``)."""

    @property
    def public_key(self) -> Ed25519PublicKey: ...

    @property
    def key_id(self) -> str: ...

    def migrate(self) -> None:
        """Create or upgrade the tables. Idempotent."""

    def close(self) -> None: ...

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
        """Append one signed entry at the end of the chain and return it."""

    def record_decision(
        self,
        actor: Actor | None,
        question: str,
        hits: Iterable[Any],
        answer_text: str | None,
        model: str,
        settings: Mapping[str, Any] | None = None,
        *,
        tenant_id: str | None = None,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append a ``query.answered`` entry carrying :func:`decision_record` (tenant: the actor's)."""

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
        """Entries newest first and how many match. ``tenant_id=None``: every tenant."""

    def get(self, seq: int) -> AuditEntry | None: ...

    def verify(self, public_key: Ed25519PublicKey | Iterable[Ed25519PublicKey] | None = None) -> VerifyResult:
        """Check every remaining entry (hash, link to its predecessor, signature) and the signed head.
        ``public_key``: the key(s) to trust (default: this log's own key)."""

    def purge_before(self, ts: float, *, actor: Actor | None = None) -> PurgeResult:
        """Remove the oldest entries up to (not including) the first one at or after ``ts``, always keeping the
        newest entry; append an ``audit.purged`` entry (tenant :data:`GLOBAL_TENANT`) when any were removed."""


class DecisionRecorder:
    """Mixin giving an adapter :meth:`AuditLog.record_decision` on top of its own ``append``."""

    def record_decision(
        self,
        actor: Actor | None,
        question: str,
        hits: Iterable[Any],
        answer_text: str | None,
        model: str,
        settings: Mapping[str, Any] | None = None,
        *,
        tenant_id: str | None = None,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        from ragd.auth.actor import LOCAL_TENANT

        tenant = tenant_id or (actor.tenant_id if actor is not None else LOCAL_TENANT)
        decision = decision_record(actor, question, hits, answer_text, model, settings)
        return self.append(  # type: ignore[attr-defined,no-any-return]
            DECISION_ACTION, tenant_id=tenant, actor=actor, target=target, details=details, decision=decision
        )
