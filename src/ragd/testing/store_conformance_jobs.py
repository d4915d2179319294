"""The job-queue part of the Store contract: every adapter's test class subclasses :class:`JobQueueConformance`
next to :class:`ragd.testing.store_conformance.StoreConformance` (same ``store`` fixture)."""

from __future__ import annotations

import threading

import pytest

from ragd.errors import DocumentNotFound
from ragd.models import Job
from ragd.store.base import JobQueue, Store
from ragd.testing.store_conformance import add_indexed, make_doc


def claim_one(store: JobQueue, worker_id: str, lease_seconds: float = 600.0) -> Job | None:
    """The oldest claimable job (``claim_jobs`` with ``limit=1``), or ``None``."""
    jobs = store.claim_jobs(worker_id, 1, lease_seconds)
    return jobs[0] if jobs else None


class JobQueueConformance:
    """Enqueue, claim (order, concurrency, leases), finish, release, requeue, depth."""

    def test_job_claim_order(self, store: Store) -> None:
        for i in range(3):
            store.add_document(make_doc(f"d{i}"))
        assert store.queue_depth() == 3
        first = claim_one(store, "w1")
        assert (first.document_id, first.kind, first.status, first.attempts) == ("d0", "ingest", "running", 1)
        second = claim_one(store, "w2")
        assert second.document_id == "d1" and second.id > first.id
        assert store.queue_depth() == 3
        extra = store.enqueue_job("d0", "reindex")
        third, fourth = claim_one(store, "w1"), claim_one(store, "w1")
        assert third.document_id == "d2" and (fourth.id, fourth.kind) == (extra, "reindex")
        assert claim_one(store, "w1") is None

    def test_job_lifecycle(self, store: Store) -> None:
        for i in range(3):
            store.add_document(make_doc(f"d{i}"))
        a, b, c = claim_one(store, "w"), claim_one(store, "w"), claim_one(store, "w")
        store.finish_job(a.id, ok=True)
        store.finish_job(b.id, ok=False, error="parse failed")
        assert store.queue_depth() == 1
        store.release_job(c.id)
        again = claim_one(store, "w2")
        assert (again.id, again.attempts) == (c.id, 2)
        store.add_document(make_doc("d3"))
        assert claim_one(store, "w3") is not None
        assert store.requeue_running() == 2
        assert store.queue_depth() == 2
        assert claim_one(store, "w4").id == c.id
        with pytest.raises(DocumentNotFound):
            store.enqueue_job("missing")

    def test_expired_lease_is_reclaimed(self, store: Store) -> None:
        store.add_document(make_doc("d1"))
        job = claim_one(store, "crashed", lease_seconds=0.05)
        assert claim_one(store, "w2") is None
        tick, again = threading.Event(), None
        for _ in range(200):  # poll until the lease has expired (no fixed sleep)
            if (again := claim_one(store, "w2", lease_seconds=60)) is not None:
                break
            tick.wait(0.01)
        assert again is not None
        assert (again.id, again.attempts) == (job.id, 2)
        assert claim_one(store, "w3") is None

    def test_concurrent_claims_never_share_a_job(self, store: Store) -> None:
        for i in range(40):
            store.add_document(make_doc(f"d{i}"))
        claimed: list[int] = []
        lock = threading.Lock()
        errors: list[BaseException] = []

        def worker(name: str) -> None:
            try:
                while (job := claim_one(store, name)) is not None:
                    with lock:
                        claimed.append(job.id)
                    store.finish_job(job.id, ok=True)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        assert len(claimed) == 40 and len(set(claimed)) == 40
        assert store.queue_depth() == 0

    def test_concurrent_writes_from_threads(self, store: Store) -> None:
        errors: list[BaseException] = []

        def writer(prefix: str) -> None:
            try:
                for i in range(10):
                    add_indexed(store, f"{prefix}{i}", [f"{prefix} chunk {i}", "shared words"])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(p,)) for p in ("a", "b", "c")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        assert store.list_documents()[1] == 30 and store.count_chunks() == 60
        assert len(store.search_lexical(["shared"], None, 100)) == 30
