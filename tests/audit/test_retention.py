"""Retention: conversations, logged questions (with their feedback) and audit entries past their age go; the run
is itself audited and the chain still verifies."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ragd.audit import GLOBAL_TENANT, RETENTION_ACTION
from ragd.audit.retention import DAY, run_retention
from ragd.audit.sqlite import SqliteAuditLog
from ragd.auth.actor import LOCAL_ACTOR
from ragd.config import AuditSettings
from ragd.store.sqlite.conversations import SqliteConversationStore

pytestmark = pytest.mark.sqlite_only  # opens the SQLite audit log and conversation store by name


def test_retention_purges_by_age_and_is_audited(log: SqliteAuditLog, db_path: Path) -> None:
    conversations = SqliteConversationStore(db_path)
    conversations.migrate()
    try:
        conv = conversations.create_conversation("alice", "t")
        msg = conversations.add_message("alice", conv.id, "assistant", "a")
        conversations.add_feedback("alice", 1, message_id=msg.id)
        q = conversations.record_query("alice", "q?", "a", True)
        conversations.add_feedback("alice", -1, query_id=q.id)
        log.append("document.uploaded", tenant_id="acme", actor=LOCAL_ACTOR)
        settings = AuditSettings(conversation_days=1, query_log_days=2, audit_days=3)

        now = time.time() + 1.5 * DAY  # conversations are past their age, the rest is not
        report = run_retention(settings, conversations, log, actor=LOCAL_ACTOR, now=now)
        assert (report.conversations, report.queries, report.audit_entries) == (1, 0, 0)
        assert report.cutoffs == {"conversations": now - DAY, "queries": now - 2 * DAY, "audit": now - 3 * DAY}
        assert conversations.get_conversation("alice", conv.id) is None
        assert conversations.get_query("alice", q.id) is not None
        assert conversations.list_feedback()[1] == 1

        entry = report.entry
        assert entry is not None and entry.action == RETENTION_ACTION and entry.tenant_id == GLOBAL_TENANT
        assert entry.details["conversations"] == 1 and entry.details["queries"] == 0
        assert entry.details["audit_entries"] == 0 and entry.actor is not None

        later = time.time() + 4 * DAY  # now everything is old; the audit log keeps its newest entry
        report = run_retention(settings, conversations, log, actor=LOCAL_ACTOR, now=later)
        assert (report.conversations, report.queries, report.audit_entries) == (0, 1, 1)
        assert conversations.get_query("alice", q.id) is None and conversations.list_feedback() == ([], 0)
        actions = [e.action for e in log.list()[0]]
        assert actions == [RETENTION_ACTION, "audit.purged", RETENTION_ACTION]
        assert log.verify().ok
    finally:
        conversations.close()


def test_nothing_configured_keeps_everything_but_records_the_run(log: SqliteAuditLog, db_path: Path) -> None:
    conversations = SqliteConversationStore(db_path)
    conversations.migrate()
    try:
        q = conversations.record_query("alice", "q?", "a", True)
        report = run_retention(AuditSettings(), conversations, log, actor=None, now=time.time() + 1000 * DAY)
        assert report.counts() == {"conversations": 0, "queries": 0, "audit_entries": 0, "cutoffs": {}}
        assert conversations.get_query("alice", q.id) is not None and log.list()[1] == 1 and log.verify().ok
    finally:
        conversations.close()
