"""Retries of the in-process workers (issue 16): a job that failed for an unexpected reason (here the model) is put
back with a backoff, is not retried before it, keeps its error meanwhile, and ``drain`` waits for it."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest.pipeline import Upload
from ragd.jobs.worker import WorkerPool
from ragd.models import DocStatus


class Ceiling(random.Random):
    """Jitter that always draws the longest wait, so that a test knows each delay."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def r(tmp_path: Path) -> Iterator[Ragd]:
    inst = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))
    yield inst
    inst.close()


def failing_model(r: Ragd, failures: int) -> list[float]:
    """Make the model fail ``failures`` times (a model server down), then work; returns the times of the calls."""
    calls: list[float] = []
    real = r.embedder.embed

    def embed(texts, token_ids=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        calls.append(time.time())
        if len(calls) <= failures:
            raise RuntimeError("the model server is down")
        return real(texts, token_ids)

    r.embedder.embed = embed  # type: ignore[method-assign]
    return calls


def test_a_failed_job_is_not_retried_before_its_backoff(r: Ragd) -> None:
    [sub] = r.submit_many([Upload(b"The boiler is serviced every spring.", "boiler.txt")])
    calls = failing_model(r, 1)
    pool = WorkerPool(r.store, r.ingest, max_attempts=3, retry_base_s=3600, retry_max_s=7200, rng=Ceiling())
    assert pool.run_one("w")  # the first attempt fails: put back for an hour (attempt 1: the base)
    assert len(calls) == 1 and not pool.run_one("w") and r.store.claim_jobs("other", 10) == []
    assert r.store.queue_depth() == 1 and r.get_document(sub.document.id).status is not DocStatus.FAILED
    [job] = r.store.unpublished_jobs([sub.document.id])
    assert (job.status, job.attempts, job.error) == ("queued", 1, "the model server is down")
    assert job.not_before is not None and calls[0] + 3599 < job.not_before < time.time() + 3601
    # its message (broker mode) may still take it: the store leaves the timing to whoever publishes
    again = r.store.claim_job(job.id, "task")
    assert again is not None and again.attempts == 2


def test_drain_waits_for_the_retries_and_the_delays_grow(r: Ragd) -> None:
    [sub] = r.submit_many([Upload(b"Invoices are sent on the first day of the month.", "invoices.txt")])
    calls = failing_model(r, 2)
    pool = WorkerPool(r.store, r.ingest, max_attempts=3, retry_base_s=0.4, retry_max_s=60, rng=Ceiling())
    assert pool.drain() == 3  # two failures, each retried after its delay, then success
    assert r.get_document(sub.document.id).status is DocStatus.INDEXED and r.store.queue_depth() == 0
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.4 and calls[2] - calls[1] >= 0.8  # base, then twice the base
    assert not pool.wait_for_retry()


def test_after_max_attempts_the_document_fails_with_the_last_error(r: Ragd) -> None:
    [sub] = r.submit_many([Upload(b"Meters are read every quarter.", "meters.txt")])
    calls = failing_model(r, 10)
    pool = WorkerPool(r.store, r.ingest, max_attempts=2, retry_base_s=0.2, retry_max_s=60, rng=Ceiling())
    assert pool.drain() == 2 and len(calls) == 2
    doc = r.get_document(sub.document.id)
    assert doc.status is DocStatus.FAILED and "the model server is down" in (doc.error or "")
    assert r.store.job_counts()["interactive"]["failed"] == 1 and r.store.queue_depth() == 0
