"""Per-tenant admission of new ingestion work (``jobs.max_queued_per_tenant``), in both modes.

The API routes that queue documents (upload, re-index) ask :func:`check_room` before they store anything: when
the caller's tenant already has that many jobs queued or running (``JobQueue.active_jobs_for_tenant``), or the
request would take it over, the request is refused with 429 ``queue_full`` and ``Retry-After``, and nothing of
it is stored. A request that could never fit (more files than the limit itself) is a 413: retrying would not
help. The check and the insert are two statements, so concurrent requests of one tenant may overshoot the limit
by at most their own sizes: the limit bounds a backlog, it is no exact quota.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragd.errors import PayloadTooLarge, QueueFull

if TYPE_CHECKING:
    from ragd.config import Settings
    from ragd.store.base import Store

#: Seconds a client is told to wait before retrying a refused upload (``Retry-After``).
QUEUE_FULL_RETRY_S = 30


def check_room(store: Store, settings: Settings, tenant_id: str, new_jobs: int = 1) -> None:
    """Raise :class:`QueueFull` (429) when ``tenant_id`` may not queue ``new_jobs`` more ingestion jobs now,
    :class:`PayloadTooLarge` (413) when it never could; nothing when the limit is off (``None``)."""
    limit = settings.jobs.max_queued_per_tenant
    if limit is None or new_jobs <= 0:
        return
    if new_jobs > limit:
        raise PayloadTooLarge(f"{new_jobs} documents in one request, more than the {limit} ingestion jobs a tenant "
                              "may have queued (RAGD_JOBS__MAX_QUEUED_PER_TENANT): send them in smaller requests")
    active = store.active_jobs_for_tenant(tenant_id)
    if active + new_jobs > limit:
        raise QueueFull(f"your tenant has {active} documents waiting for ingestion, at most {limit} may wait at "
                        f"once; this request would add {new_jobs}: retry once some are indexed",
                        retry_after=QUEUE_FULL_RETRY_S, queued=active, limit=limit)
