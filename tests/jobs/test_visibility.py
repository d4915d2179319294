"""What an operator sees in broker mode, against real ``ragd worker`` processes and RabbitMQ: uploads waiting in a
queue no worker consumes show as queued jobs and broker messages (what RagdNoWorkerConsuming alerts on); once a
worker of that queue runs, they drain, the store's counts say done, and the worker's task metrics carry the same
``queue`` label as the server's (the alert rules join on it)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from tests.jobs.workers import Broker, WorkerProcess, wait_until
from tests.support import Server


def _jobs(http: httpx.Client) -> dict:
    r = http.get("/api/v1/admin/jobs")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.timeout(900)
def test_a_queue_without_its_worker_then_with_it(
    server_factory: Callable[..., Server], worker_factory: Callable[..., WorkerProcess], broker: Broker,
) -> None:
    server = server_factory(**broker.env()).start()
    worker_factory(broker, queues=("bulk",))  # consumes bulk only: interactive work waits
    with server.client() as http:
        files = [("file", (f"note-{i}.txt", f"The boiler of site {i} was serviced in May.".encode()))
                 for i in range(2)]
        r = http.post("/api/v1/documents/upload", files=files)
        assert r.status_code == 201, r.text
        ids = [d["id"] for d in r.json()["documents"]]

        jobs = wait_until(lambda: (j := _jobs(http))["broker"]["messages"]["interactive"] == 2 and j,
                          "the two interactive messages published and waiting")
        assert jobs["mode"] == "celery" and jobs["broker"]["reachable"]
        assert jobs["queues"]["interactive"]["queued"] == 2 and jobs["oldest_queued_s"]["interactive"] > 0
        assert jobs["queues"]["bulk"]["queued"] == 0

        worker = worker_factory(broker, queues=("interactive",))
        docs = server.wait_done(http, ids, timeout=600)
        assert {d["status"] for d in docs.values()} == {"indexed"}
        jobs = wait_until(lambda: (j := _jobs(http))["broker"]["messages"]["interactive"] == 0 and j,
                          "the interactive messages consumed")
        assert jobs["queues"]["interactive"] == {"queued": 0, "running": 0, "done": 2, "failed": 0}
        assert jobs["oldest_queued_s"]["interactive"] == 0

        metrics = http.get("/metrics").text
        assert 'ragd_jobs{queue="interactive",state="done"} 2.0' in metrics
        assert 'ragd_broker_messages{queue="interactive"} 0.0' in metrics

        def tasks() -> dict[str, float]:
            return {o: worker.metric("ragd_task_seconds_count", queue="interactive", outcome=o)
                    for o in ("done", "skipped")}

        # one message per job; a job batched with another finds nothing to do when its own message arrives
        counts = wait_until(lambda: (t := tasks())["done"] + t["skipped"] == 2 and t, "both tasks recorded")
        assert counts["done"] >= 1
