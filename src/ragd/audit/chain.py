"""Checking a hash chain, whatever store it comes from: :func:`verify_chain` walks the entries in ``seq`` order
and returns the first one whose hash, link to its predecessor or signature is wrong, then checks the signed
head (so entries cut off the end are noticed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ragd.audit.base import GENESIS, AuditEntry, VerifyResult, entry_hash, head_message, signed_message
from ragd.audit.signing import key_id_of, verify_signature


@dataclass(frozen=True, slots=True)
class Head:
    """The newest entry's ``seq`` and ``hash``, signed after every append."""

    seq: int
    hash: str
    signature: str
    key_id: str


def trusted_keys(keys: Ed25519PublicKey | Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    if isinstance(keys, Ed25519PublicKey):
        keys = [keys]
    return {key_id_of(k): k for k in keys}


def anchors_from(purge_details: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """``anchor_seq → anchor_hash`` recorded by ``audit.purged`` entries."""
    out: dict[int, str] = {}
    for d in purge_details:
        seq, hash_ = d.get("anchor_seq"), d.get("anchor_hash")
        if isinstance(seq, int) and isinstance(hash_, str):
            out[seq] = hash_
    return out


def verify_chain(
    entries: Iterable[AuditEntry],
    head: Head | None,
    anchors: Mapping[int, str],
    keys: Mapping[str, Ed25519PublicKey],
) -> VerifyResult:
    """Entries must come in increasing ``seq`` order. ``anchors`` come from :func:`anchors_from` over the same
    log (an anchor recorded by a tampered ``audit.purged`` entry is caught when that entry's hash is checked)."""
    checked = 0
    prev: AuditEntry | None = None

    def bad(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, reason)

    for e in entries:
        if prev is None:
            at_genesis = e.seq == 1 and e.prev_hash == GENESIS
            if not at_genesis and anchors.get(e.seq - 1) != e.prev_hash:
                return bad(
                    e.seq, f"entries before seq {e.seq} are missing and no audit.purged entry records their removal"
                )
        elif e.seq != prev.seq + 1:
            missing = f"{prev.seq + 1}" if e.seq == prev.seq + 2 else f"{prev.seq + 1}..{e.seq - 1}"
            return bad(e.seq, f"entries {missing} are missing (removed from the middle of the chain)")
        elif e.prev_hash != prev.hash:
            return bad(e.seq, f"prev_hash does not match the hash of entry {prev.seq}")
        if entry_hash(e.payload()) != e.hash:
            return bad(e.seq, "hash mismatch: the entry's content was altered after it was written")
        key = keys.get(e.key_id)
        if key is None:
            return bad(e.seq, f"signed with key {e.key_id}, which is not a trusted key")
        if not verify_signature(key, e.signature, signed_message(e.decision, e.hash)):
            return bad(e.seq, "invalid signature (forged or altered decision record)")
        checked += 1
        prev = e
    if prev is None:
        if head is not None:
            return bad(head.seq, f"the signed head names entry {head.seq} but the log is empty")
        return VerifyResult(True, 0)
    if head is None:
        return bad(prev.seq, "the signed head is missing")
    if head.seq != prev.seq or head.hash != prev.hash:
        if head.seq > prev.seq:
            return bad(prev.seq + 1, f"entries after seq {prev.seq} are missing (the signed head names seq {head.seq})")
        return bad(head.seq, f"the signed head names seq {head.seq}, not the newest entry {prev.seq}")
    key = keys.get(head.key_id)
    if key is None or not verify_signature(key, head.signature, head_message(head.seq, head.hash)):
        return bad(head.seq, "invalid signature of the chain head")
    return VerifyResult(True, checked)
