"""The ``ragd.ingest`` task, end to end: a ``ragd serve`` in broker mode takes uploads, ``ragd worker`` processes
(real subprocesses on a real broker) index them, on the run's store (the SQLite file both share, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.backend import SHARED_KEYS, query
from tests.jobs.workers import Broker, WorkerProcess, wait_until
from tests.support import Server
from tests.tcpproxy import TcpProxy

from ragd.config import Settings
from ragd.jobs.celery_app import TASK_NAME, make_app, queue_name

NOTE = b"The gate code of the north depot is 4711. Pumps are checked every Monday by the night shift."


def upload(http: httpx.Client, name: str, data: bytes) -> str:
    r = http.post("/api/v1/documents/upload", files=[("file", (name, data))])
    assert r.status_code == 201, r.text
    return str(r.json()["documents"][0]["id"])


def status(http: httpx.Client, doc_id: str) -> dict:
    r = http.get(f"/api/v1/documents/{doc_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def done(http: httpx.Client, doc_id: str, timeout: float = 180.0) -> dict:
    return wait_until(lambda: (d := status(http, doc_id))["status"] in ("indexed", "failed") and d,
                      f"document {doc_id} to be indexed or failed", timeout=timeout)


def job_row(server: Server, doc_id: str) -> tuple:
    [row] = query(server.store_url, "SELECT status, attempts, error, queue, published_at FROM jobs "
                  f"WHERE document_id = '{doc_id}'")
    return row


@pytest.fixture
def serve(server_factory: Callable[..., Server], tmp_path: Path) -> Callable[..., Server]:
    """``serve(broker, **env)``: a started ``ragd serve`` in broker mode on the test's data directory."""
    def start(broker: Broker, **env: str) -> Server:
        return server_factory(tmp_path / "data", **broker.env(**env)).start()
    return start


def test_an_upload_is_indexed_by_a_worker(any_broker: Broker, serve: Callable[..., Server],
                                          worker_factory: Callable[..., WorkerProcess]) -> None:
    server = serve(any_broker)
    worker = worker_factory(any_broker)
    with server.client() as http:
        doc_id = upload(http, "depot.txt", NOTE)
        doc = done(http, doc_id)
        assert doc["status"] == "indexed" and doc["num_chunks"] >= 1
        # the server follows the store's change feed: what the worker indexed is searchable there
        hits = wait_until(lambda: http.post("/api/v1/query", json={"query": "gate code north depot",
                                                                    "answer": False}).json()["results"],
                          "the server to find the passage")
        assert hits[0]["document_id"] == doc_id
    assert job_row(server, doc_id)[:2] == ("done", 1)
    assert worker.metric("ragd_task_seconds_count", queue="interactive", outcome="done") == 1


def test_a_duplicate_message_indexes_nothing_twice(broker: Broker, serve: Callable[..., Server],
                                                   worker_factory: Callable[..., WorkerProcess]) -> None:
    server = serve(broker)
    app = make_app(Settings(jobs={"broker_url": broker.url, "queue_prefix": broker.prefix}))
    with server.client() as http:
        doc_id = upload(http, "depot.txt", NOTE)  # published once by the server, no worker yet
        [(job_id,)] = query(server.store_url, f"SELECT id FROM jobs WHERE document_id = '{doc_id}'")
        for _ in range(2):  # two more messages for the same job, before any worker runs
            app.send_task(TASK_NAME, args=(job_id, doc_id), queue=queue_name(broker.prefix, "interactive"))
        worker = worker_factory(broker)
        doc = done(http, doc_id)
        assert doc["status"] == "indexed"
        wait_until(lambda: worker.metric("ragd_tasks_skipped_total", queue="interactive") == 2,
                   "the two duplicates to be skipped")
        app.send_task(TASK_NAME, args=(job_id, doc_id), queue=queue_name(broker.prefix, "interactive"))
        wait_until(lambda: worker.metric("ragd_tasks_skipped_total", queue="interactive") == 3,
                   "a late duplicate to be skipped")
        assert status(http, doc_id)["num_chunks"] == doc["num_chunks"]
    app.close()
    assert job_row(server, doc_id)[:2] == ("done", 1)
    # one commit of its chunks in the change feed: as many additions as chunks, no deletion
    changes = dict(query(server.store_url, "SELECT op, COUNT(*) FROM changes GROUP BY op"))
    assert changes == {"add": doc["num_chunks"]}
    assert worker.metric("ragd_task_seconds_count", queue="interactive", outcome="done") == 1


def test_a_corrupt_file_fails_at_once_without_retry(broker: Broker, serve: Callable[..., Server],
                                                    worker_factory: Callable[..., WorkerProcess]) -> None:
    server = serve(broker)
    worker = worker_factory(broker)
    with server.client() as http:
        doc_id = upload(http, "scan.pdf", b"%PDF-1.4\nnot really a pdf\n%%EOF")
        doc = done(http, doc_id)
    assert doc["status"] == "failed" and doc["error_code"] == "document_corrupt"
    assert job_row(server, doc_id)[:2] == ("done", 1)  # one attempt: a document error is not retried
    assert sum(worker.metric("ragd_task_retries_total", queue="interactive", reason=r)
               for r in ("transient", "error", "store_unreachable")) == 0


def test_a_transient_failure_is_retried_with_backoff_then_succeeds(
        broker: Broker, serve: Callable[..., Server], worker_factory: Callable[..., WorkerProcess]) -> None:
    server = serve(broker)
    worker = worker_factory(broker, module="tests.jobs.faults", env={"RAGD_INGEST__MAX_ATTEMPTS": "3"})
    with server.client() as http:
        doc_id = upload(http, "flaky.txt", NOTE + b" EMBED-FLAKY-2")  # the model server refuses twice
        doc = done(http, doc_id)
    assert doc["status"] == "indexed"
    assert job_row(server, doc_id)[:3] == ("done", 3, None)
    assert worker.metric("ragd_task_retries_total", queue="interactive", reason="transient") == 2
    assert worker.metric("ragd_task_seconds_count", queue="interactive", outcome="retry") == 2


def test_the_last_attempt_fails_the_document_with_the_last_error(
        broker: Broker, serve: Callable[..., Server], worker_factory: Callable[..., WorkerProcess]) -> None:
    server = serve(broker)
    worker = worker_factory(broker, module="tests.jobs.faults", env={"RAGD_INGEST__MAX_ATTEMPTS": "3"})
    with server.client() as http:
        doc_id = upload(http, "down.txt", NOTE + b" EMBED-DOWN")  # the model server never answers
        doc = done(http, doc_id)
    assert doc["status"] == "failed" and doc["error_code"] == "internal_error"
    assert "after 3 attempts" in doc["error"] and "ConnectionError" in doc["error"] and "EMBED-DOWN" in doc["error"]
    state, attempts, error, _queue, _published = job_row(server, doc_id)
    assert (state, attempts) == ("failed", 3) and "EMBED-DOWN" in error
    assert worker.metric("ragd_task_retries_total", queue="interactive", reason="transient") == 2
    assert worker.metric("ragd_task_failures_total", queue="interactive") == 1


def test_a_store_outage_is_retried_with_backoff_then_the_job_runs(
        broker: Broker, pg_url: str, server_factory: Callable[..., Server],
        worker_factory: Callable[..., WorkerProcess], tmp_path: Path) -> None:
    """The worker reaches its PostgreSQL through a TCP proxy that is cut (on both runs: the store that can be
    unreachable is a networked one): its task cannot even claim the job, so the message is retried with backoff,
    and the job runs once the store answers again — one attempt, since no claim ever succeeded before."""
    proxy = TcpProxy(("127.0.0.1", 5432))
    try:
        server = server_factory(tmp_path / "data", RAGD_STORE__URL=pg_url, **SHARED_KEYS, **broker.env()).start()
        through = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        worker = worker_factory(broker, env={"RAGD_STORE__URL": through, **SHARED_KEYS})
        proxy.cut()
        with server.client() as http:
            doc_id = upload(http, "depot.txt", NOTE)
            wait_until(lambda: worker.metric("ragd_task_retries_total", queue="interactive",
                                             reason="store_unreachable") >= 2, "the task to retry", timeout=120)
            assert status(http, doc_id)["status"] == "pending"
            proxy.restore()
            assert done(http, doc_id)["status"] == "indexed"
        assert job_row(server, doc_id)[:2] == ("done", 1)
    finally:
        proxy.close()


def test_small_documents_are_batched_into_one_task(broker: Broker, serve: Callable[..., Server],
                                                   worker_factory: Callable[..., WorkerProcess]) -> None:
    server = serve(broker)
    with server.client() as http:
        r = http.post("/api/v1/documents/upload", files=[("file", (f"note-{i}.txt", NOTE + f" Note {i}.".encode()))
                                                         for i in range(5)])
        assert r.status_code == 201, r.text
        ids = [d["id"] for d in r.json()["documents"]]
        worker = worker_factory(broker)  # five messages wait: the first task takes all five jobs
        assert all(done(http, i)["status"] == "indexed" for i in ids)
    wait_until(lambda: worker.metric("ragd_tasks_skipped_total", queue="interactive") == 4, "the other messages")
    assert worker.metric("ragd_task_seconds_count", queue="interactive", outcome="done") == 1
    assert sorted(query(server.store_url, "SELECT status, attempts FROM jobs")) == [("done", 1)] * 5
