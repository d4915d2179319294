"""The per-tenant limit on queued work and the jobs overview, on a real store (run on both engines)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Producer, Queue

from ragd.config import Settings
from ragd.errors import PayloadTooLarge, QueueFull
from ragd.jobs.admission import QUEUE_FULL_RETRY_S, check_room
from ragd.jobs.overview import overview
from ragd.models import Document
from ragd.store.base import Store


def add_docs(store: Store, tenant: str, n: int, *, queue: str = "interactive") -> list[Document]:
    docs = [Document(id=f"d_{uuid.uuid4().hex[:16]}", collection="default", filename=f"{i}.txt",
                     content_hash=uuid.uuid4().hex, mime="text/plain", size=10, tenant_id=tenant)
            for i in range(n)]
    return [d for d, _dup in store.submit_documents(docs, queue=queue)]


def settings(tmp_path: Path, **jobs: object) -> Settings:
    return Settings(data_dir=tmp_path, jobs=jobs)


def test_no_limit_by_default(run_store: Store, tmp_path: Path) -> None:
    add_docs(run_store, "t1", 5)
    check_room(run_store, settings(tmp_path), "t1", 100)


def test_queued_and_running_jobs_count_done_and_failed_do_not(run_store: Store, tmp_path: Path) -> None:
    s = settings(tmp_path, max_queued_per_tenant=2)
    add_docs(run_store, "t1", 1)
    add_docs(run_store, "t1", 1, queue="bulk")  # every queue counts
    with pytest.raises(QueueFull) as refused:
        check_room(run_store, s, "t1")
    assert refused.value.code == "queue_full" and refused.value.status == 429
    assert refused.value.retry_after == QUEUE_FULL_RETRY_S
    assert refused.value.to_problem()["queued"] == 2 and refused.value.to_problem()["limit"] == 2
    check_room(run_store, s, "t2", 2)  # another tenant: its own count
    with pytest.raises(PayloadTooLarge):
        check_room(run_store, s, "t2", 3)  # could never fit

    running = run_store.claim_jobs("w1", 1, 60.0, queue="interactive")
    assert len(running) == 1
    with pytest.raises(QueueFull):
        check_room(run_store, s, "t1")  # running still counts
    run_store.finish_jobs([running[0].id], worker_id="w1")
    check_room(run_store, s, "t1")  # done: room for one
    with pytest.raises(QueueFull):
        check_room(run_store, s, "t1", 2)
    bulk = run_store.claim_jobs("w1", 1, 60.0, queue="bulk")
    run_store.finish_job(bulk[0].id, ok=False, error="broken", worker_id="w1")
    check_room(run_store, s, "t1", 2)  # failed: no longer waiting


def test_overview_embedded(run_store: Store, tmp_path: Path) -> None:
    add_docs(run_store, "t1", 2)
    add_docs(run_store, "t2", 1, queue="bulk")
    run_store.claim_jobs("w1", 1, 60.0, queue="interactive")
    out = overview(run_store, settings(tmp_path))
    assert out["mode"] == "embedded" and out["broker"] is None
    assert out["queues"] == {"interactive": {"queued": 1, "running": 1, "done": 0, "failed": 0},
                             "bulk": {"queued": 1, "running": 0, "done": 0, "failed": 0}}
    assert set(out["oldest_queued_s"]) == {"interactive", "bulk"} and all(
        v >= 0 for v in out["oldest_queued_s"].values())


def test_overview_in_broker_mode_asks_the_broker(run_store: Store, tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    url = "amqp://guest:guest@127.0.0.1:5672//"
    name = f"{prefix}.bulk"
    q = Queue(name, Exchange(prefix, type="direct", durable=True), routing_key=name, durable=True)
    try:
        with Connection(url) as conn:
            Producer(conn.default_channel).publish({"job_id": 1}, exchange=q.exchange, routing_key=name,
                                                   declare=[q])
        out = overview(run_store, settings(tmp_path, broker_url=url, queue_prefix=prefix))
        assert out["mode"] == "celery"
        assert out["broker"] == {"reachable": True, "messages": {"interactive": 0, "bulk": 1}}
        down = overview(run_store, settings(tmp_path, broker_url="amqp://guest:guest@127.0.0.1:1//",
                                            queue_prefix=prefix))
        assert down["mode"] == "celery" and down["broker"] == {"reachable": False, "messages": {}}
    finally:
        with Connection(url) as conn:
            q.bind(conn.default_channel).delete()
            q.exchange.bind(conn.default_channel).delete()
