"""`ragd worker --pool threads|solo|prefork`: every pool indexes (prefork: each child process builds its own
ingestion context; its metrics are summed by the parent's endpoint)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.jobs.test_tasks import NOTE, done, upload
from tests.jobs.workers import Broker, WorkerProcess
from tests.support import Server


@pytest.mark.parametrize("pool", ["threads", "solo", "prefork"])
def test_other_pools_index(pool: str, broker: Broker, server_factory: Callable[..., Server],
                           worker_factory: Callable[..., WorkerProcess], tmp_path: Path) -> None:
    server = server_factory(tmp_path / "data", **broker.env()).start()
    worker = worker_factory(broker, pool=pool, concurrency=1)
    with server.client() as http:
        doc_id = upload(http, "depot.txt", NOTE)
        assert done(http, doc_id)["status"] == "indexed"
    assert worker.metric("ragd_task_seconds_count", queue="interactive", outcome="done") == 1
    text = httpx.get(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5).text
    for family in ("ragd_task_seconds", "ragd_tasks_skipped_total", "ragd_worker_ready"):
        assert text.count(f"# TYPE {family} ") == 1, family  # one family, whatever the pool
