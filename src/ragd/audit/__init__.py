"""The audit trail: a tamper-evident, hash-chained log of who did what, with Ed25519-signed decision records.

The storage backend of the store URL hands out the log (``open_backend(url).audit_log(signer)``, its tables
live in the same database and join the backend's unit of work).
The port and its contract: :mod:`ragd.audit.base`; the key: :mod:`ragd.audit.signing`; retention:
:mod:`ragd.audit.retention`. Recording the decision behind an answer::

    ragd.audit.record_decision(actor, question, retrieval.hits, answer.text, answer.model,
                               {"top_k": top_k, "mode": mode}, target=query_id)
"""

from __future__ import annotations

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

__all__ = [
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
]
