"""Broker mode under faults (issue 16), with real processes on one PostgreSQL store and RabbitMQ, neither of which is
ever stopped: an outage is a :class:`tests.tcpproxy.TcpProxy` between ragd and the service, cut and restored.

* a worker killed (SIGKILL) in the middle of a document: another worker completes it, once;
* the broker unreachable for 30 s while documents are uploaded: every upload acknowledged, nothing lost, all
  indexed once the broker is back, each once;
* the store refusing the workers' connections for a few seconds while they work: retried with backoff, then
  every document indexed, each once.

"Indexed once" is :func:`tests.e2e.cluster.assert_indexed_once`. The store is PostgreSQL in both runs
(``pg_url``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from tests.e2e.cluster import (
    assert_indexed_once,
    drained,
    indexed_by,
    rows,
    start_apis,
    start_workers,
    statuses,
    store_env,
    upload,
    wait_processed,
)
from tests.e2e.stall_worker import HOLD, STALL
from tests.jobs.workers import Broker, WorkerProcess, wait_until
from tests.support import Server
from tests.tcpproxy import TcpProxy

from ragd.jobs.metrics import RETRY_REASONS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BROKER_OUTAGE_S = 30.0
STORE_OUTAGE_S = 5.0


def text(i: int, lines: int = 1) -> str:
    return "\n".join(f"Inspection {i}.{k}: the boiler of building {i} passed its yearly check, line {k}."
                     for k in range(lines))


@pytest.fixture
def proxies() -> Iterator[list[TcpProxy]]:
    made: list[TcpProxy] = []
    yield made
    for p in made:
        p.close()


def test_a_worker_killed_mid_document_leaves_it_to_another_worker(
        tmp_path: Path, pg_url: str, broker: Broker, server_factory: Callable[..., Server],
        worker_factory: Callable[..., WorkerProcess]) -> None:
    env = {**store_env(pg_url), "RAGD_JOBS__LEASE_SECONDS": "4"}
    [api] = start_apis(server_factory, tmp_path, 1, {**env, **broker.env()})
    # the first worker gets stuck in the embedding step of the document holding the marker
    [stuck] = start_workers(worker_factory, broker, tmp_path / "stuck", 1, env, module="tests.e2e.stall_worker")
    with api.client() as http:
        doc_id = upload(http, text(1, lines=60) + f"\n{STALL}\n", "boiler.txt")
    def in_the_middle() -> bool:
        found = rows(pg_url, "SELECT d.status, j.worker_id FROM documents d JOIN jobs j ON j.document_id = d.id")
        return len(found) == 1 and found[0][0] == "embedding" and str(found[0][1]).startswith(stuck.hostname)

    wait_until(in_the_middle, "the first worker to be in the middle of the document", timeout=180)
    [other] = start_workers(worker_factory, broker, tmp_path / "other", 1, env)
    # still held by the stuck worker, whose lease keeps being renewed while it lives
    [(state, attempts, holder)] = rows(pg_url, "SELECT status, attempts, worker_id FROM jobs")
    assert (state, attempts) == ("running", 1) and holder.startswith(stuck.hostname)
    assert statuses(pg_url, [doc_id]) == {"embedding": 1}
    stuck.kill()  # kill -9, mid-document
    # its message comes back from the broker at once but finds the job under a lease; once the lease runs out
    # (4 s here) the sweeper publishes the job again and the other worker completes it
    assert wait_processed(pg_url, [doc_id], timeout=300) == {"indexed": 1}
    assert_indexed_once(pg_url, [doc_id])
    [(attempts,)] = rows(pg_url, "SELECT attempts FROM jobs")
    assert attempts == 2  # the killed worker's attempt, then the other's
    assert indexed_by([other]) == [1.0]
    drained(broker)


def test_a_broker_outage_during_uploads_loses_nothing(
        tmp_path: Path, pg_url: str, broker: Broker, proxies: list[TcpProxy],
        server_factory: Callable[..., Server], worker_factory: Callable[..., WorkerProcess]) -> None:
    proxy = TcpProxy(broker.address)
    proxies.append(proxy)
    via = broker.through(proxy.port)  # the API and the workers reach RabbitMQ only through the proxy
    env = store_env(pg_url)
    [api] = start_apis(server_factory, tmp_path, 1, {**env, **via.env()})
    workers = start_workers(worker_factory, via, tmp_path, 2, env)
    ids: list[str] = []
    with api.client() as http:
        ids += [upload(http, text(i), f"before-{i}.txt") for i in range(5)]
        assert wait_processed(pg_url, ids, timeout=300) == {"indexed": 5}

        proxy.cut()
        cut_at = time.monotonic()
        during = [upload(http, text(i), f"during-{i}.txt") for i in range(5, 15)]  # each acknowledged
        ids += during
        for doc_id in during:  # stored, waiting for the broker
            r = http.get(f"/api/v1/documents/{doc_id}")
            assert r.status_code == 200 and r.json()["status"] in ("pending", "parsing", "embedding",
                                                                   "indexed"), r.text
        threading.Event().wait(max(0.0, BROKER_OUTAGE_S - (time.monotonic() - cut_at)))  # the rest of the outage
        assert statuses(pg_url, during) == {"pending": 10}  # no message reached a worker
        proxy.restore()

        ids += [upload(http, text(i), f"after-{i}.txt") for i in range(15, 20)]
        assert wait_processed(pg_url, ids, timeout=300) == {"indexed": 20}
    assert_indexed_once(pg_url, ids)
    assert sum(indexed_by(workers)) == 20
    drained(broker)


def test_a_store_refusing_connections_is_retried_then_everything_is_indexed(
        tmp_path: Path, pg_url: str, broker: Broker, proxies: list[TcpProxy],
        server_factory: Callable[..., Server], worker_factory: Callable[..., WorkerProcess]) -> None:
    """The workers' PostgreSQL connections drop while a worker is in the middle of a statement, and new ones are
    refused for a few seconds: what failed is retried with backoff, and every document is indexed, once."""
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxies.append(proxy)
    through = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    [api] = start_apis(server_factory, tmp_path, 1, {**store_env(pg_url), **broker.env()})  # the API: direct
    workers = start_workers(worker_factory, broker, tmp_path, 2, store_env(through))
    with api.client() as http, psycopg.connect(pg_url) as locker:
        ids = [upload(http, text(i), f"first-{i}.txt") for i in range(30)]
        wait_until(lambda: statuses(pg_url, ids).get("indexed", 0) >= 1, "the workers to be at work", timeout=300)
        # hold the documents' rows: the next statement of a worker on one of them waits, in flight, for the lock
        locker.execute("SELECT id FROM documents WHERE id = ANY(%s) FOR UPDATE", (ids,))
        blocked = "SELECT COUNT(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"
        wait_until(lambda: rows(pg_url, blocked, (locker.info.backend_pid,))[0][0] >= 1,
                   "a worker's statement to wait in the middle of the work", timeout=180)
        proxy.cut()  # the workers' connections drop (the waiting statement fails), new ones are refused
        cut_at = time.monotonic()
        locker.rollback()
        ids += [upload(http, text(i), f"during-{i}.txt") for i in range(30, 40)]  # the API's store answers
        threading.Event().wait(max(0.0, STORE_OUTAGE_S - (time.monotonic() - cut_at)))
        proxy.restore()
    counts = wait_processed(pg_url, ids, timeout=300)
    assert counts == {"indexed": 40}, counts  # no job ran out of attempts
    assert_indexed_once(pg_url, ids)
    retries = sum(w.metric("ragd_task_retries_total", queue="interactive", reason=r)
                  for w in workers for r in RETRY_REASONS)
    [(max_attempts,)] = rows(pg_url, "SELECT MAX(attempts) FROM jobs")
    assert retries > 0 and max_attempts <= 3, (retries, max_attempts)  # a refused claim is no attempt
    assert sum(indexed_by(workers)) == 40
    drained(broker)


def test_the_store_lost_in_the_middle_of_a_batch_leaves_none_of_its_jobs_behind_a_lease(
        tmp_path: Path, pg_url: str, broker: Broker, proxies: list[TcpProxy],
        server_factory: Callable[..., Server], worker_factory: Callable[..., WorkerProcess]) -> None:
    """One task claims three small documents (its own and two more: batching); the store goes away while it embeds
    them, so the task cannot even give its jobs back and its message is retried. The retry gives back every job
    the task held: all three are indexed once the store is back, none waiting for its (long) lease to run out."""
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxies.append(proxy)
    through = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    [api] = start_apis(server_factory, tmp_path, 1, {**store_env(pg_url), **broker.env()})
    with api.client() as http:  # queued before any worker runs: the first task takes all three
        ids = [upload(http, text(0) + f"\n{HOLD}\n", "held.txt"), *(upload(http, text(i)) for i in (1, 2))]
    env = {**store_env(through), "RAGD_JOBS__LEASE_SECONDS": "3600"}
    [worker] = start_workers(worker_factory, broker, tmp_path, 1, env, module="tests.e2e.stall_worker")
    wait_until((worker.data_dir / "held").exists, "the worker to be embedding the batch", timeout=180)
    assert sorted(rows(pg_url, "SELECT status, attempts FROM jobs")) == [("running", 1)] * 3
    proxy.cut()
    (worker.data_dir / "go").touch()
    wait_until(lambda: worker.metric("ragd_task_retries_total", queue="interactive", reason="store_unreachable"),
               "the task's message to be retried", timeout=180)
    proxy.restore()
    assert wait_processed(pg_url, ids, timeout=300) == {"indexed": 3}
    assert_indexed_once(pg_url, ids)
    drained(broker)


def test_a_message_retried_on_another_worker_still_gives_back_the_first_workers_lease(
        tmp_path: Path, pg_url: str, broker: Broker, proxies: list[TcpProxy],
        server_factory: Callable[..., Server], worker_factory: Callable[..., WorkerProcess]) -> None:
    """A task loses the store in the middle of its document and cannot give its lease back: its message is
    retried, carrying that lease. The first worker dies; the second takes the message while the store is still
    away, and fails too. Its retry must still carry the first worker's lease (not its own, which holds nothing):
    once the store is back the document is indexed, rather than left under the dead worker's (long) lease."""
    first_proxy, second_proxy = TcpProxy(("127.0.0.1", 5432)), TcpProxy(("127.0.0.1", 5432))
    proxies += [first_proxy, second_proxy]
    [api] = start_apis(server_factory, tmp_path, 1, {**store_env(pg_url), **broker.env()})
    with api.client() as http:
        [doc_id] = [upload(http, text(0) + f"\n{HOLD}\n", "held.txt")]

    def env(proxy: TcpProxy) -> dict[str, str]:
        through = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        return {**store_env(through), "RAGD_JOBS__LEASE_SECONDS": "3600"}

    [first] = start_workers(worker_factory, broker, tmp_path / "first", 1, env(first_proxy),
                            module="tests.e2e.stall_worker")
    wait_until((first.data_dir / "held").exists, "the first worker to be in the middle of the document",
               timeout=180)
    [second] = start_workers(worker_factory, broker, tmp_path / "second", 1, env(second_proxy))
    for p in (first_proxy, second_proxy):
        p.cut()
    (first.data_dir / "go").touch()

    def store_unreachable(worker: WorkerProcess) -> float:
        return worker.metric("ragd_task_retries_total", queue="interactive", reason="store_unreachable")

    wait_until(lambda: store_unreachable(first), "the first worker to retry the message", timeout=180)
    first.kill()  # the messages it held go back to the broker, for the second worker
    wait_until(lambda: store_unreachable(second), "the second worker to retry the message", timeout=180)
    for p in (first_proxy, second_proxy):
        p.restore()
    assert wait_processed(pg_url, [doc_id], timeout=180) == {"indexed": 1}
    assert_indexed_once(pg_url, [doc_id])
    assert indexed_by([second]) == [1.0]
