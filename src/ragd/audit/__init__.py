"""The audit trail: a tamper-evident, hash-chained log of who did what, with Ed25519-signed decision records.

``open_audit_log(url, signer)`` builds the adapter registered for the store URL's scheme in
:data:`AUDIT_LOGS` (the same schemes as :data:`ragd.store.STORES`; its tables live in the same database).
The port and its contract: :mod:`ragd.audit.base`; the key: :mod:`ragd.audit.signing`; retention:
:mod:`ragd.audit.retention`. Recording the decision behind an answer::

    ragd.audit.record_decision(actor, question, retrieval.hits, answer.text, answer.model,
                               {"top_k": top_k, "mode": mode}, target=query_id)
"""

from __future__ import annotations

from collections.abc import Callable

from ragd.audit.base import (
    DECISION_ACTION,
    GENESIS,
    GLOBAL_TENANT,
    PURGE_ACTION,
    RETENTION_ACTION,
    ActorRef,
    AuditEntry,
    AuditLog,
    PurgeResult,
    VerifyResult,
    decision_record,
)
from ragd.audit.signing import AuditSigner, load_signer
from ragd.errors import ConfigurationError


def _sqlite(url: str, signer: AuditSigner | None) -> AuditLog:
    from ragd.audit.sqlite import SqliteAuditLog

    return SqliteAuditLog(url, signer)


#: URL scheme → factory ``(url, signer) -> AuditLog``.
AUDIT_LOGS: dict[str, Callable[[str, AuditSigner | None], AuditLog]] = {"sqlite": _sqlite}


def open_audit_log(url: str, signer: AuditSigner | None, *, migrate: bool = True) -> AuditLog:
    """The audit log of the store at ``url`` (its tables migrated unless ``migrate=False``). ``signer=None``:
    read-only, for verifying with a public key alone."""
    from ragd.store.url import scheme_of

    scheme = scheme_of(url)
    factory = AUDIT_LOGS.get(scheme)
    if factory is None:
        known = ", ".join(sorted(AUDIT_LOGS))
        raise ConfigurationError(f"no audit log for URL scheme {scheme!r} (known: {known})")
    log = factory(url, signer)
    if migrate:
        log.migrate()
    return log


__all__ = [
    "AUDIT_LOGS",
    "DECISION_ACTION",
    "GENESIS",
    "GLOBAL_TENANT",
    "PURGE_ACTION",
    "RETENTION_ACTION",
    "ActorRef",
    "AuditEntry",
    "AuditLog",
    "AuditSigner",
    "PurgeResult",
    "VerifyResult",
    "decision_record",
    "load_signer",
    "open_audit_log",
]
