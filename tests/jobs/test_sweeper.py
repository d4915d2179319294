"""The sweeper against a real store (both engines) and the real RabbitMQ: it publishes what was never published,
concurrent sweepers publish a job once, a lost message is published again only when the broker queue is empty,
and a publish that failed (broker down) is owed, not lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from tests.jobs.workers import Broker, wait_until
from tests.tcpproxy import TcpProxy

from ragd.config import JobsSettings, Settings
from ragd.jobs.celery_app import Publisher, make_app
from ragd.jobs.dispatch import BrokerDispatcher
from ragd.jobs.sweeper import Sweeper
from ragd.store.base import Store
from ragd.testing.store_conformance import make_doc


def jobs_settings(broker: Broker, **kw: object) -> JobsSettings:
    return JobsSettings(broker_url=broker.url, queue_prefix=broker.prefix, publish_grace_s=0, **kw)  # type: ignore[arg-type]


def publisher(broker: Broker) -> Publisher:
    settings = Settings(jobs=jobs_settings(broker))
    return Publisher(make_app(settings), broker.prefix)


@pytest.fixture
def queued(run_store: Store) -> Iterator[Store]:
    for i in range(3):
        run_store.add_document(make_doc(f"d{i}"))
    yield run_store


def test_never_published_jobs_are_published_once_by_concurrent_sweepers(queued: Store, broker: Broker) -> None:
    sweepers = [Sweeper(queued, publisher(broker), jobs_settings(broker)) for _ in range(4)]
    counts: list[int] = []
    start = threading.Barrier(len(sweepers))

    def sweep(s: Sweeper) -> None:
        start.wait()
        counts.append(s.sweep())

    threads = [threading.Thread(target=sweep, args=(s,)) for s in sweepers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 3
    assert wait_until(lambda: broker.ready_messages()["interactive"] == 3 or None, "3 messages", timeout=10)
    assert sweepers[0].sweep() == 0  # nothing left to publish
    assert broker.ready_messages() == {"interactive": 3, "bulk": 0}


def test_a_lost_message_is_published_again_only_when_the_queue_is_empty(queued: Store, broker: Broker) -> None:
    long_ago = time.time() - 1000
    ids = [j.id for j in queued.unpublished_jobs(["d0", "d1", "d2"])]
    assert queued.mark_published(ids, now=long_ago) == ids  # published long ago; the messages were lost
    sweeper = Sweeper(queued, publisher(broker), jobs_settings(broker, republish_after_s=300))
    assert sweeper.sweep() == 3
    assert broker.ready_messages()["interactive"] == 3
    queued.mark_published(ids, now=long_ago)  # as if lost again, but this time the queue holds messages
    assert sweeper.sweep() == 0
    assert broker.ready_messages()["interactive"] == 3


def test_a_publish_that_failed_is_owed_until_the_broker_is_back(queued: Store, broker: Broker) -> None:
    proxy = TcpProxy(broker.address)
    try:
        through = broker.through(proxy.port)
        sweeper = Sweeper(queued, publisher(through), jobs_settings(through))
        proxy.cut()
        assert sweeper.sweep() == 0  # marked as published, but nothing could be sent
        assert not queued.jobs_to_publish(grace_s=0)  # so no other sweeper publishes them meanwhile
        assert sweeper.sweep() == 0  # still down: owed, nothing more is marked
        assert broker.ready_messages()["interactive"] == 0
        proxy.restore()
        assert sweeper.sweep() == 3
        assert broker.ready_messages()["interactive"] == 3
    finally:
        proxy.close()


def test_jobs_due_after_a_backoff_are_published_when_due(queued: Store, broker: Broker) -> None:
    sweeper = Sweeper(queued, publisher(broker), jobs_settings(broker))
    assert sweeper.sweep() == 3
    [job] = queued.claim_jobs("w", 1, 60)
    queued.release_job(job.id, worker_id="w", delay_s=1.5, error="ConnectionError: refused")
    assert sweeper.sweep() == 0  # not due yet
    assert wait_until(sweeper.sweep, "the retry to be due and published", timeout=10) == 1
    assert broker.ready_messages()["interactive"] == 4


class FastWorker(Publisher):
    """A publisher whose message a worker takes, fails on and gives back (a retry due at once) before ``publish``
    has even returned: the interleaving of a busy server whose publishing thread is slow to resume."""

    def __init__(self, inner: Publisher, store: Store) -> None:
        self.__dict__.update(inner.__dict__)
        self.store = store

    def publish(self, jobs):  # type: ignore[no-untyped-def]
        sent = super().publish(jobs)
        for job_id in sent:
            assert self.store.claim_job(job_id, "w1", lease_seconds=60) is not None
            self.store.release_job(job_id, worker_id="w1", delay_s=0.0, error="ConnectionError")
        return sent  # the publishing thread resumes after the retry came due (not_before = the release's time)


def test_a_retry_given_back_before_the_upload_s_publish_returned_is_published_again(
        queued: Store, broker: Broker) -> None:
    """The upload's own publish marks its jobs before it sends them, as a sweeper does: marked after, a job the
    worker had already given back for a retry would look published to every sweeper (its retry forgotten until
    ``republish_after_s``)."""
    fast = FastWorker(publisher(broker), queued)  # one publisher for both, as open_dispatcher builds them
    dispatcher = BrokerDispatcher(queued, fast, Sweeper(queued, fast, jobs_settings(broker)), pause_s=1.0)
    dispatcher.jobs_added(["d0"], "interactive")
    [job] = [j for j in queued.jobs_to_publish(grace_s=0) if j.document_id == "d0"]  # due: the sweepers see it
    assert job.document_id == "d0" and job.attempts == 1
