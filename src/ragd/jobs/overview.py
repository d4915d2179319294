"""What the ingestion queues hold, read from the store (the source of truth) and, in broker mode, the broker.

Shared by ``GET /api/v1/admin/jobs`` and the scrape-time metrics (``ragd_jobs``,
``ragd_jobs_oldest_queued_seconds``, ``ragd_broker_messages``), so both say the same thing.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ragd.jobs.broker_stats import QUEUES, BrokerStats, BrokerStatus

if TYPE_CHECKING:
    from ragd.config import Settings
    from ragd.store.base import Store

#: The job states counted per queue (``jobs.status``), always all present (0 when none).
STATES: tuple[str, ...] = ("queued", "running", "done", "failed")

_stats: dict[tuple[str, str], BrokerStats] = {}
_stats_lock = threading.Lock()


def mode(settings: Settings) -> str:
    """``celery`` when a broker is configured (``jobs.broker_url``), else ``embedded`` (in-process workers)."""
    return "celery" if settings.jobs.broker_url is not None else "embedded"


def broker_stats(settings: Settings) -> BrokerStats | None:
    """The process's :class:`BrokerStats` for the configured broker and queue prefix (one per pair, so its short
    cache is shared by every caller); ``None`` in embedded mode."""
    secret = settings.jobs.broker_url
    if secret is None:
        return None
    key = (secret.get_secret_value(), settings.jobs.queue_prefix)
    with _stats_lock:
        stats = _stats.get(key)
        if stats is None:
            stats = _stats[key] = BrokerStats(key[0], prefix=key[1])
        return stats


def broker_status(settings: Settings) -> BrokerStatus | None:
    """The broker's answer now (cached a moment), ``None`` in embedded mode. Never raises."""
    stats = broker_stats(settings)
    return stats.status() if stats is not None else None


def queue_names(counts: dict[str, dict[str, int]]) -> list[str]:
    """The two queues first, then any other queue name found on stored jobs."""
    return [*QUEUES, *sorted(q for q in counts if q not in QUEUES)]


def job_counts(store: Store) -> dict[str, dict[str, int]]:
    """``{queue: {state: n}}`` with every queue of :data:`QUEUES` and every state of :data:`STATES`."""
    counts = store.job_counts()
    return {q: {s: int(counts.get(q, {}).get(s, 0)) for s in STATES} for q in queue_names(counts)}


def oldest_queued(store: Store, queues: list[str]) -> dict[str, float]:
    """Age in seconds of the oldest queued job of each queue (0 when none), rounded to a millisecond."""
    return {q: round(float(store.oldest_queued_age_s(q)), 3) for q in queues}


def overview(store: Store, settings: Settings) -> dict[str, Any]:
    """The whole picture: ``{"mode", "queues", "oldest_queued_s", "broker"}`` (``broker`` null when embedded)."""
    counts = job_counts(store)
    status = broker_status(settings)
    return {
        "mode": mode(settings),
        "queues": counts,
        "oldest_queued_s": oldest_queued(store, list(counts)),
        "broker": status.to_json() if status is not None else None,
    }


def tenant_usage(store: Store, settings: Settings, tenant_id: str) -> dict[str, Any]:
    """One tenant's share: its jobs queued or running and its limit (``jobs.max_queued_per_tenant``)."""
    return {"active_jobs": store.active_jobs_for_tenant(tenant_id),
            "max_queued": settings.jobs.max_queued_per_tenant}
