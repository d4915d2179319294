"""The job-queue part of the Store contract: every adapter's test class subclasses :class:`JobQueueConformance`
next to :class:`ragd.testing.store_conformance.StoreConformance` (same ``store`` fixture)."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from ragd.errors import DocumentNotFound, ValidationFailed
from ragd.models import DocStatus, Job
from ragd.store.base import JobQueue, Store
from ragd.testing.store_conformance import add_indexed, make_doc


def claim_one(store: JobQueue, worker_id: str, lease_seconds: float = 600.0) -> Job | None:
    """The oldest claimable job (``claim_jobs`` with ``limit=1``), or ``None``."""
    jobs = store.claim_jobs(worker_id, 1, lease_seconds)
    return jobs[0] if jobs else None


class JobQueueConformance:
    """Enqueue, claim (order, concurrency, leases), finish, release, requeue, depth; queues, backoff, claiming a
    named job, what a broker's dispatcher and sweeper publish, counts."""

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

    # -- queues, backoff, claiming one named job ---------------------------------------------------------------
    def test_jobs_carry_their_queue(self, store: Store) -> None:
        store.add_document(make_doc("i"))
        [(bulk, _)] = store.submit_documents([make_doc("b")], queue="bulk")
        extra = store.enqueue_job("i", "reindex", queue="bulk")
        jobs = store.claim_jobs("w", 10)
        assert [(j.document_id, j.queue) for j in jobs] == [("i", "interactive"), ("b", "bulk"), ("i", "bulk")]
        assert jobs[2].id == extra and (jobs[0].not_before, jobs[0].published_at) == (None, None)
        for bad in ("urgent", ""):
            with pytest.raises(ValidationFailed):
                store.enqueue_job("i", queue=bad)
            with pytest.raises(ValidationFailed):
                store.submit_documents([make_doc("x")], queue=bad)
        assert store.get_document("x") is None and store.queue_depth() == 3
        # a failed document uploaded again is queued again in the queue of that upload
        store.finish_job(jobs[1].id, ok=False, error="boom")
        store.set_status(bulk.id, DocStatus.FAILED, error="boom")
        [(again, dup)] = store.submit_documents([make_doc("b2", content="b")], queue="interactive")
        assert dup and again.id == bulk.id
        assert [(j.document_id, j.queue) for j in store.claim_jobs("w", 10)] == [("b", "interactive")]

    def test_claim_jobs_of_one_queue(self, store: Store) -> None:
        store.submit_documents([make_doc(f"b{i}") for i in range(3)], queue="bulk")
        store.submit_documents([make_doc("i0")])
        [expired] = store.claim_jobs("crashed", 1, lease_seconds=-1, queue="bulk")  # b0, its lease already over
        assert [j.document_id for j in store.claim_jobs("w", 10, queue="interactive")] == ["i0"]
        assert store.claim_jobs("w", 10, queue="interactive") == []
        taken = store.claim_jobs("w", 10, queue="bulk")
        assert [j.document_id for j in taken] == ["b0", "b1", "b2"] and taken[0].id == expired.id
        assert {j.queue for j in taken} == {"bulk"} and taken[0].attempts == 2

    def test_a_released_job_waits_for_its_backoff(self, store: Store) -> None:
        store.add_documents([make_doc("a"), make_doc("b")])
        a, b = store.claim_jobs("w", 2)
        store.release_job(a.id, worker_id="w", delay_s=3600, error="store unavailable")
        store.release_job(b.id, worker_id="w", delay_s=0.0)
        [now_due] = store.claim_jobs("w2", 10)  # a is not due for an hour
        assert now_due.id == b.id and now_due.not_before is not None and now_due.error is None
        assert store.claim_jobs("w2", 10) == [] and store.queue_depth() == 2
        # its message came: claim_job takes it whatever its not_before
        again = store.claim_job(a.id, "w3")
        assert again is not None and (again.status, again.attempts, again.error) == ("running", 2, "store unavailable")
        assert again.not_before is not None and again.not_before > time.time() + 3000
        store.release_job(a.id, worker_id="w3", delay_s=-1)  # the last error is kept when none is given
        [due] = store.claim_jobs("w4", 10)
        assert (due.id, due.attempts, due.error) == (a.id, 3, "store unavailable")
        store.release_job(a.id, worker_id="someone else", delay_s=-1, error="ignored")  # not its holder
        assert store.claim_jobs("w5", 10) == []

    def test_claim_job_takes_only_a_claimable_job(self, store: Store) -> None:
        store.add_documents([make_doc(f"d{i}") for i in range(5)])
        queued, live, expired, done, failed = store.claim_jobs("setup", 5, lease_seconds=-1)
        store.release_job(queued.id)
        assert store.renew_jobs("setup", [live.id], 600) == [live.id]
        store.finish_job(done.id, ok=True)
        store.finish_job(failed.id, ok=False, error="bad")
        got = store.claim_job(queued.id, "w1", 600)
        assert got is not None and (got.id, got.document_id, got.status, got.attempts) == (
            queued.id, "d0", "running", 2)
        assert store.claim_job(queued.id, "w2") is None  # held now, under a live lease
        assert store.claim_job(live.id, "w2") is None
        taken = store.claim_job(expired.id, "w2", 600)
        assert taken is not None and (taken.id, taken.attempts) == (expired.id, 2)
        assert store.renew_jobs("setup", [expired.id]) == []  # the dead worker lost it
        assert store.claim_job(done.id, "w2") is None and store.claim_job(failed.id, "w2") is None
        assert store.claim_job(10_000, "w2") is None
        store.delete_document("d0")
        assert store.claim_job(queued.id, "w3") is None

    def test_concurrent_claims_of_one_job_have_one_winner(self, store: Store) -> None:
        ids = [store.enqueue_job(store.add_document(make_doc(f"d{i}"), enqueue=False).id) for i in range(5)]
        barrier = threading.Barrier(4)
        won: list[tuple[str, int]] = []
        errors: list[BaseException] = []

        def claimer(name: str) -> None:
            try:
                barrier.wait(30)
                for job_id in ids:
                    if store.claim_job(job_id, name) is not None:
                        won.append((name, job_id))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        _run([threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)])
        assert not errors and sorted(j for _, j in won) == ids

    # -- publishing to a broker ------------------------------------------------------------------------------
    def test_unpublished_jobs_of_documents(self, store: Store) -> None:
        store.add_documents([make_doc(f"d{i}") for i in range(4)])
        jobs = {j.document_id: j for j in store.unpublished_jobs(["d0", "d1", "d2", "d3", "missing"])}
        assert sorted(jobs) == ["d0", "d1", "d2", "d3"]
        assert store.mark_published([jobs["d0"].id]) == [jobs["d0"].id]
        assert store.claim_job(jobs["d1"].id, "w") is not None
        assert [j.document_id for j in store.unpublished_jobs(["d0", "d1", "d2"])] == ["d2"]
        assert store.unpublished_jobs([]) == []

    def test_jobs_to_publish(self, store: Store) -> None:
        store.add_documents([make_doc(f"d{i}") for i in range(8)])
        by_doc = {j.document_id: j.id for j in store.unpublished_jobs([f"d{i}" for i in range(8)])}
        long_ago = time.time() - 100
        # (a) never published: only once older than the grace period, and only when due
        assert store.jobs_to_publish(grace_s=3600) == []
        # (b) published long ago, then released for a retry: due (d1) or not yet (d2)
        published = sorted(by_doc[d] for d in ("d1", "d2", "d5", "d7"))
        assert store.mark_published(published, now=long_ago) == published
        for doc, delay in (("d1", -10.0), ("d2", 3600.0), ("d3", 3600.0)):
            assert store.claim_job(by_doc[doc], "w") is not None
            store.release_job(by_doc[doc], worker_id="w", delay_s=delay)
        # (c) running under an expired lease and not published since (d4), or under a live lease (d6)
        assert store.claim_job(by_doc["d4"], "dead", lease_seconds=-1) is not None
        assert store.claim_job(by_doc["d6"], "alive", lease_seconds=600) is not None
        store.finish_job(store.claim_job(by_doc["d5"], "w").id, ok=True)  # type: ignore[union-attr]
        due = store.jobs_to_publish(grace_s=3600)
        assert [j.document_id for j in due] == ["d1", "d4"]
        assert [j.status for j in due] == ["queued", "running"]
        # with no grace, every never-published due job too (d0), but not d3 (backoff) nor d6 (live lease)
        assert [j.document_id for j in store.jobs_to_publish(grace_s=-1)] == ["d0", "d1", "d4"]
        assert [j.document_id for j in store.jobs_to_publish(grace_s=-1, limit=2)] == ["d0", "d1"]
        # once published they are not asked for again
        assert store.mark_published([by_doc["d0"], by_doc["d1"], by_doc["d4"]]) == sorted(
            [by_doc["d0"], by_doc["d1"], by_doc["d4"]])
        assert store.jobs_to_publish(grace_s=-1) == []
        # a dead worker's job published before its lease ran out (d7) is due again; d4's publication came after
        assert store.claim_job(by_doc["d7"], "dead too", lease_seconds=-1) is not None
        assert [j.document_id for j in store.jobs_to_publish(grace_s=-1)] == ["d7"]

    def test_stale_published(self, store: Store) -> None:
        store.submit_documents([make_doc("b0"), make_doc("b1"), make_doc("b2")], queue="bulk")
        store.submit_documents([make_doc("i0"), make_doc("i1")])
        ids = {j.document_id: j.id for j in store.unpublished_jobs(["b0", "b1", "b2", "i0", "i1"])}
        long_ago = time.time() - 1000
        store.mark_published([ids["b0"], ids["b1"], ids["i0"]], now=long_ago)
        store.claim_job(ids["b1"], "w")
        store.release_job(ids["b1"], delay_s=3600)  # not due: its backoff publishes it later
        assert [j.document_id for j in store.stale_published("bulk", long_ago + 1)] == ["b0"]
        assert store.stale_published("bulk", long_ago) == []
        assert [j.document_id for j in store.stale_published("interactive", time.time())] == ["i0"]
        store.mark_published([ids["b2"]])  # just published: not stale 500 s ago
        assert [j.document_id for j in store.stale_published("bulk", time.time() - 500)] == ["b0"]
        assert [j.queue for j in store.stale_published("bulk", time.time() + 1, limit=1)] == ["bulk"]

    def test_mark_published(self, store: Store) -> None:
        store.add_documents([make_doc(f"d{i}") for i in range(3)])
        ids = [j.id for j in store.unpublished_jobs(["d0", "d1", "d2"])]
        t = time.time()
        assert store.mark_published(ids[:2], now=t) == ids[:2]
        assert store.mark_published(ids, now=t + 0.5) == ids[2:]  # published within the second: someone else's
        assert store.mark_published(ids, now=t + 0.9) == []
        assert store.mark_published([*ids, 10_000], now=t + 5) == ids  # unknown ids are ignored
        store.finish_job(ids[0], ok=True)
        assert store.mark_published(ids, now=t + 10) == ids[1:]  # a finished job is not published
        assert store.mark_published([]) == []
        [job] = [j for j in store.claim_jobs("w", 10) if j.id == ids[1]]
        assert job.published_at == t + 10

    def test_concurrent_mark_published_never_give_one_job_twice(self, store: Store) -> None:
        store.add_documents([make_doc(f"d{i}") for i in range(40)])
        ids = [j.id for j in store.unpublished_jobs([f"d{i}" for i in range(40)])]
        barrier = threading.Barrier(6)
        got: list[int] = []
        errors: list[BaseException] = []
        now = time.time()  # one clock for all: however slow the machine, every call is "at the same time"

        def sweeper(i: int) -> None:
            try:
                order = ids[i * 7 % 40:] + ids[:i * 7 % 40]  # each its own order
                barrier.wait(30)
                for _ in range(3):
                    got.extend(store.mark_published(order, now=now))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        _run([threading.Thread(target=sweeper, args=(i,)) for i in range(6)])
        assert not errors and sorted(got) == ids

    # -- counts ----------------------------------------------------------------------------------------------
    def test_job_counts_and_age(self, store: Store) -> None:
        zero = dict.fromkeys(("queued", "running", "done", "failed"), 0)
        assert store.job_counts() == {"interactive": zero, "bulk": zero}
        assert store.oldest_queued_age_s() == 0.0 and store.oldest_queued_age_s("bulk") == 0.0
        store.add_documents([make_doc(f"i{i}") for i in range(4)])
        store.submit_documents([make_doc("b0"), make_doc("b1")], queue="bulk")
        a, b, _ = store.claim_jobs("w", 3, queue="interactive")
        store.finish_job(a.id, ok=True)
        store.finish_job(b.id, ok=False, error="bad")
        assert store.job_counts() == {"interactive": {"queued": 1, "running": 1, "done": 1, "failed": 1},
                                      "bulk": {**zero, "queued": 2}}
        assert store.oldest_queued_age_s() >= store.oldest_queued_age_s("bulk") > 0.0
        store.claim_jobs("w", 10, queue="bulk")
        assert store.oldest_queued_age_s("bulk") == 0.0 and store.oldest_queued_age_s("interactive") > 0.0

    def test_active_jobs_per_tenant(self, store: Store) -> None:
        acme = [dataclasses.replace(make_doc(f"a{i}"), tenant_id="acme") for i in range(3)]
        store.submit_documents([*acme, make_doc("d0")], queue="bulk")
        store.enqueue_job("a0", "reindex")
        assert (store.active_jobs_for_tenant("acme"), store.active_jobs_for_tenant("default")) == (4, 1)
        jobs = store.claim_jobs("w", 2)
        assert store.active_jobs_for_tenant("acme") == 4  # running ones count
        store.finish_jobs([j.id for j in jobs])
        assert store.active_jobs_for_tenant("acme") == 2 and store.active_jobs_for_tenant("nobody") == 0


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
