"""Workers under load (issue 14): a small document is not queued behind a big one, and a lease is renewed while a
long job runs, so no other worker takes it over (it used to expire after 600 s and be processed twice)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.backend import query
from tests.support import Server

from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest.pipeline import Upload
from ragd.jobs.worker import WorkerPool
from ragd.models import DocStatus
from ragd.store.backend import open_backend

TOPICS = ["boilers", "warranties", "refunds", "deliveries", "invoices", "meters", "pumps", "valves", "filters"]


def long_text(sentences: int) -> bytes:
    """Distinct sentences (no chunk repeats, so no embedding is cached): about 12 model tokens each."""
    return "\n\n".join(
        f"Paragraph {i}: the {TOPICS[i % 9]} of site {i * 7 % 1013} were checked on day {i % 365} "
        f"by team {i % 97}, who noted reading {i * 13 % 10007}." for i in range(sentences)
    ).encode()


def wait_for(check: object, what: str, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        threading.Event().wait(0.1)  # poll the state again
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def server(server_factory) -> Server:  # type: ignore[no-untyped-def]
    return server_factory().start()


@pytest.mark.timeout(1800)
def test_a_small_document_is_indexed_while_a_big_one_is_still_processing(server: Server) -> None:
    with server.client() as http:
        def up(name: str, data: bytes) -> str:
            r = http.post("/api/v1/documents/upload", files=[("file", (name, data))])
            assert r.status_code == 201, r.text
            return r.json()["documents"][0]["id"]

        def status(doc_id: str) -> str:
            return http.get(f"/api/v1/documents/{doc_id}").json()["status"]

        big = up("manual.txt", long_text(10_000))  # about 1,100 chunks
        wait_for(lambda: status(big) != "pending", "the big document to start")
        small = up("note.txt", b"The gate code is 4711.")
        wait_for(lambda: status(small) in ("indexed", "failed"), "the small document")
        assert status(small) == "indexed"
        assert status(big) not in ("indexed", "failed")  # the big one is still being worked on


@pytest.fixture
def r(tmp_path: Path) -> Iterator[Ragd]:
    inst = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))
    yield inst
    inst.close()


@pytest.mark.timeout(1800)  # a busy machine is slow; the test needs the job to outlive its lease, not speed
def test_a_lease_is_renewed_while_a_long_job_runs(r: Ragd) -> None:
    lease = 3.0
    [sub] = r.submit_many([Upload(long_text(4_000), "long.txt")])  # about 450 chunks
    pool = WorkerPool(r.store, r.ingest, lease_seconds=lease, batch=8)
    done, stolen = threading.Event(), []
    other_backend = open_backend(r.settings.store_url)  # a second worker, as another process has it
    other = other_backend.store

    def second_worker() -> None:
        while not (done.is_set() or running()):  # until the first worker holds the job
            done.wait(0.05)
        while not done.is_set():  # the first worker holds the job: try to take it over, again and again
            stolen.extend(other.claim_jobs("second", 8, lease_seconds=600))
            done.wait(0.2)

    def running() -> bool:
        return query(r.settings.store_url, "SELECT COUNT(*) FROM jobs WHERE status = 'running'")[0][0] > 0

    thief = threading.Thread(target=second_worker)
    t0 = time.monotonic()
    thief.start()
    try:
        assert pool.run_one("first")
        took = time.monotonic() - t0
    finally:
        done.set()
        thief.join(60)
        other_backend.close()
    assert took > 1.5 * lease, f"the job took {took:.1f} s: too short to outlive its lease"
    assert stolen == []  # the renewed lease kept the second worker off
    assert r.get_document(sub.document.id).status is DocStatus.INDEXED
    assert r.store.queue_depth() == 0
    assert query(r.settings.store_url, "SELECT attempts, status FROM jobs") == [(1, "done")]  # processed once


def test_status_endpoint_reports_pending_for_waiting_documents(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=120) as http:
        # one request: both are queued together, so one worker may take both at once
        files = [("file", (f"big{i}.txt", long_text(12_000 + i))) for i in range(2)]
        r_ = http.post("/api/v1/documents/upload", files=files)
        assert r_.status_code == 201, r_.text
        ids = [d["id"] for d in r_.json()["documents"]]
        wait_for(lambda: http.get(f"/api/v1/documents/{ids[0]}").json()["status"] != "pending", "the first")
        assert http.get(f"/api/v1/documents/{ids[1]}").json()["status"] == "pending"  # not being worked on
