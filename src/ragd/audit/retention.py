"""Retention: delete what is older than the configured ages (``RAGD_AUDIT__*_DAYS``) and record that it was done.

:func:`run_retention` purges, each only when its age is set:

* conversations idle for longer than ``conversation_days`` (with their messages and the feedback on them);
* logged questions older than ``query_log_days`` (with the feedback on them);
* audit entries older than ``audit_days`` (the audit log appends its own ``audit.purged`` anchor entry).

It then appends one ``retention.purged`` entry (tenant ``*``) with the cut-offs and counts, whatever they are,
so every run is on the record. ``ragd purge`` runs it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ragd.audit.base import GLOBAL_TENANT, RETENTION_ACTION, AuditEntry, AuditLog
from ragd.auth.actor import Actor
from ragd.config import AuditSettings
from ragd.store.conversations import ConversationStore

DAY = 86_400.0


@dataclass(slots=True)
class RetentionReport:
    conversations: int = 0
    queries: int = 0
    audit_entries: int = 0
    cutoffs: dict[str, float] = field(default_factory=dict)
    """Epoch seconds before which each kind was purged (kinds kept forever are absent)."""
    entry: AuditEntry | None = None

    def counts(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("entry")
        return body


def run_retention(
    settings: AuditSettings,
    conversations: ConversationStore,
    audit: AuditLog,
    *,
    actor: Actor | None,
    now: float | None = None,
) -> RetentionReport:
    now = time.time() if now is None else now
    report = RetentionReport()
    if settings.conversation_days is not None:
        report.cutoffs["conversations"] = now - settings.conversation_days * DAY
        report.conversations = conversations.purge_before(report.cutoffs["conversations"], scope="conversations")
    if settings.query_log_days is not None:
        report.cutoffs["queries"] = now - settings.query_log_days * DAY
        report.queries = conversations.purge_before(report.cutoffs["queries"], scope="queries")
    if settings.audit_days is not None:
        report.cutoffs["audit"] = now - settings.audit_days * DAY
        report.audit_entries = audit.purge_before(report.cutoffs["audit"], actor=actor).removed
    report.entry = audit.append(RETENTION_ACTION, tenant_id=GLOBAL_TENANT, actor=actor, details=report.counts())
    return report
