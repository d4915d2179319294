"""Loading many files at once (``ragd ingest``): storing and indexing overlap.

A helper thread reads, checks and stores the files in groups (one durable write per group,
:meth:`ragd.core.Ragd.submit_many`) while the calling thread indexes what is already queued. Storing waits mostly on
the disk (fsync), indexing on the CPU; and since the model's speed barely depends on how many chunks a call holds
(token-budget batches), indexing the first groups early costs little. On the 2-core test machine the overlap did
not measurably change the total time; its gain is that documents become searchable while a folder is still being
stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragd.auth.actor import LOCAL_ACTOR, Actor
from ragd.errors import RagdError
from ragd.ingest.pipeline import Upload

if TYPE_CHECKING:
    from ragd.core import Ragd

GROUP_FILES = 256
"""Files stored per durable write (one round of fsyncs and one transaction)."""
GROUP_BYTES = 64 * 1024 * 1024


@dataclass
class BulkResult:
    ids: list[str] = field(default_factory=list)
    """The stored (or already present) document of each accepted file, in order."""
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    """Files refused before storing, with the reason."""


def ingest_files(
    r: Ragd,
    files: Sequence[Path],
    *,
    collection: str | None = None,
    on_queued: Callable[[int], None] | None = None,
    on_done: Callable[[str, str], None] | None = None,
    actor: Actor = LOCAL_ACTOR,
    process: bool = True,
) -> BulkResult:
    """Store ``files`` and index them; returns when every queued job has run. ``on_queued(n)`` after each group of
    ``n`` files is stored (or rejected), ``on_done(doc_id, status)`` after each document is processed. The jobs
    go to the ``bulk`` queue. Without ``process``, returns once the files are stored and their jobs queued (and
    dispatched): other processes index them (``ragd worker`` in broker mode, a running ``ragd serve``).

    The collection is created on first use as an upload through the API creates it (:meth:`ragd.auth.access.
    AccessService.writable_collection`): the tenant's default collection open to the whole tenant and owned by it
    (not by ``actor``), another name private to ``actor`` (by default the local operator, an admin of the default
    tenant)."""
    collection = r.access.writable_collection(actor, collection)
    result = BulkResult()
    queued = threading.Event()
    errors: list[BaseException] = []

    def store_all() -> None:
        group: list[Upload] = []
        size = 0

        def flush() -> None:
            nonlocal group, size
            if group:
                subs = r.submit_many(group, collection=collection, tenant_id=actor.tenant_id, queue="bulk")
                result.ids.extend(s.document.id for s in subs)
                if on_queued:
                    on_queued(len(group))
            group, size = [], 0

        try:
            for f in files:
                try:
                    data = f.read_bytes()
                    group.append(Upload(data, f.name, r.ingest.check(data, f.name)))
                    size += len(data)
                except (RagdError, OSError) as exc:
                    result.rejected.append((f, exc.detail if isinstance(exc, RagdError) else str(exc)))
                    if on_queued:
                        on_queued(1)
                if len(group) >= GROUP_FILES or size >= GROUP_BYTES:
                    flush()
            flush()
        except BaseException as exc:  # raised again in the caller's thread
            errors.append(exc)
        finally:
            queued.set()

    helper = threading.Thread(target=store_all, name="ragd-store-files", daemon=True)
    helper.start()
    try:
        while True:
            done_queueing = queued.is_set()
            if process and r.workers.run_one(on_done=on_done):
                continue
            if done_queueing and not r.workers.wait_for_retry():  # a retry put off: wait for it, as drain does
                break
            queued.wait(0.05 if process else None)
    finally:
        helper.join()
    if errors:
        raise errors[0]
    return result
