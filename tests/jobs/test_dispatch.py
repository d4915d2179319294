"""Who runs the jobs: embedded mode stays as it was (in-process workers, Celery never imported); broker mode
publishes after the commit, acknowledges an upload while the broker is unreachable and lets the sweeper publish
it once the broker is back; interactive uploads overtake a bulk backlog."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.backend import query
from tests.jobs.test_tasks import NOTE, done, upload
from tests.jobs.workers import Broker, WorkerProcess, settings_env, wait_until
from tests.support import Server
from tests.tcpproxy import TcpProxy

from ragd.jobs.dispatch import BULK_UPLOAD_FILES, queue_for


def test_queue_choice() -> None:
    assert queue_for(1) == queue_for(BULK_UPLOAD_FILES - 1) == "interactive"
    assert queue_for(BULK_UPLOAD_FILES) == "bulk"


def test_embedded_mode_never_imports_celery(tmp_path: Path) -> None:
    script = (
        "import os, sys, threading, time\n"
        "from ragd.config import Settings\n"
        "from ragd.core import Ragd\n"
        "from ragd.ingest.pipeline import Upload\n"
        "r = Ragd(Settings())\n"
        "r.start()\n"
        "[sub] = r.submit_many([Upload(b'The gate code is 4711.', 'a.txt')])\n"
        "deadline = time.monotonic() + 120\n"
        "while r.get_document(sub.document.id).status.value != 'indexed' and time.monotonic() < deadline:\n"
        "    threading.Event().wait(0.1)\n"
        "print('mode:', r.mode, 'status:', r.get_document(sub.document.id).status.value)\n"
        "r.close()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('celery', 'kombu', 'amqp', 'billiard'))\n"
        "print('loaded:', loaded, flush=True)\n"
        "os._exit(0)  # (the model's warm-up thread may still run)\n"
    )
    res = subprocess.run([sys.executable, "-c", script], env=settings_env(tmp_path / "data", None),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "mode: embedded status: indexed" in res.stdout and "loaded: []" in res.stdout, res.stdout + res.stderr


@pytest.mark.timeout(600)
def test_an_upload_while_the_broker_is_unreachable_is_published_once_it_is_back(
        broker: Broker, server_factory: Callable[..., Server], worker_factory: Callable[..., WorkerProcess],
        tmp_path: Path) -> None:
    proxy = TcpProxy(broker.address)
    try:
        server = server_factory(tmp_path / "data", **broker.through(proxy.port).env()).start()
        proxy.cut()
        with server.client() as http:
            t0 = time.monotonic()
            doc_id = upload(http, "depot.txt", NOTE)  # acknowledged: the job is in the store
            assert time.monotonic() - t0 < 15
            # the server's sweeper tries (it marks the job published) but nothing reaches the broker
            wait_until(lambda: query(server.store_url, "SELECT published_at FROM jobs WHERE document_id = "
                                     f"'{doc_id}'")[0][0] is not None, "the sweeper to try", timeout=60)
            assert broker.ready_messages()["interactive"] == 0
            proxy.restore()
            wait_until(lambda: broker.ready_messages()["interactive"] == 1, "the sweeper to publish the job")
            # a worker whose own sweeper stays idle: the message came from the server's
            worker_factory(broker, env={"RAGD_JOBS__SWEEP_INTERVAL_S": "3600"})
            assert done(http, doc_id)["status"] == "indexed"
        [(state, attempts)] = query(server.store_url, f"SELECT status, attempts FROM jobs WHERE document_id = "
                                    f"'{doc_id}'")
        assert (state, attempts) == ("done", 1)
    finally:
        proxy.close()


def long_note(i: int, sentences: int = 60) -> bytes:
    """A document of a few dozen chunks (distinct sentences: nothing is cached): about a second of the model."""
    return "\n\n".join(f"Report {i}, paragraph {k}: valve {k * 7 % 1009} of site {i} read {k * 13 % 10007} bar "
                       f"on day {k % 365}, noted by team {(i * k) % 97}." for k in range(sentences)).encode()


@pytest.mark.timeout(900)
def test_an_interactive_upload_overtakes_a_bulk_backlog(
        broker: Broker, server_factory: Callable[..., Server], worker_factory: Callable[..., WorkerProcess],
        tmp_path: Path) -> None:
    server = server_factory(tmp_path / "data", **broker.env()).start()
    # one worker, one slot, one document per task: the bound is then "at most the task running now, and one"
    worker_factory(broker, concurrency=1, env={"RAGD_JOBS__BATCH_DOCUMENTS": "1"})
    with server.client() as http:
        r = http.post("/api/v1/documents/upload", files=[("file", (f"report-{i}.txt", long_note(i)))
                                                         for i in range(30)])
        assert r.status_code == 201, r.text
        bulk = [d["id"] for d in r.json()["documents"]]

        def bulk_done() -> int:
            return int(query(server.store_url, "SELECT COUNT(*) FROM jobs WHERE queue = 'bulk' AND "
                             "status = 'done'")[0][0])

        wait_until(lambda: bulk_done() >= 1, "the bulk backlog to be under way", timeout=300)
        note = upload(http, "urgent.txt", NOTE)
        assert done(http, note)["status"] == "indexed"
    [(queue, created, finished)] = query(server.store_url, "SELECT queue, created_at, updated_at FROM jobs "
                                         f"WHERE document_id = '{note}'")
    assert queue == "interactive"
    rows = query(server.store_url, "SELECT status, updated_at FROM jobs WHERE queue = 'bulk'")
    assert len(rows) == len(bulk) == 30
    overtaken_by = [u for s, u in rows if s == "done" and created < u <= finished]
    still_waiting = [u for s, u in rows if s != "done" or u > finished]
    assert len(overtaken_by) <= 2, f"{len(overtaken_by)} bulk jobs finished while the interactive one waited"
    assert len(still_waiting) >= 10  # the backlog was still there
