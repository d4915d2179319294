"""Ingestion spread over machines (issue 16): two ``ragd serve`` API processes and three ``ragd worker`` processes on
one PostgreSQL store and one RabbitMQ. 500 small documents uploaded through both APIs at once while questions
are asked of both: every document indexed exactly once (tests/e2e/cluster.py says what that means in the store),
by the workers between them, no question failing, the broker's queues drained and every job done.

The store is PostgreSQL in both runs (``pg_url``): workers on other machines need a networked store."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.e2e.cluster import (
    assert_indexed_once,
    drained,
    indexed_by,
    rows,
    start_apis,
    start_workers,
    store_env,
    upload,
    wait_processed,
)
from tests.jobs.workers import Broker, WorkerProcess, wait_until
from tests.support import Server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # a loaded 2-core machine: about 3 minutes when idle

DOCUMENTS = 500
UPLOAD_THREADS = 4
TEAMS = ("north", "south", "east", "west", "night")


def note(i: int, word: str) -> str:
    return (f"Maintenance record {i}. The {word} pump of hall {i % 17} was serviced by the {TEAMS[i % 5]} team; "
            f"its pressure valve was replaced and the log was signed.")


def lexical_hits(api: Server, http: httpx.Client, word: str) -> list[str]:
    """The documents holding ``word`` by the API's BM25 index (fed by the store's change feed)."""
    r = http.post("/api/v1/query", json={"query": word, "top_k": 5, "mode": "bm25", "answer": False})
    assert r.status_code == 200, f"{api.url}: {r.status_code} {r.text}"
    return [hit["document_id"] for hit in r.json()["results"]]


def test_documents_uploaded_to_two_apis_are_indexed_once_by_three_workers(
        tmp_path: Path, pg_url: str, broker: Broker, server_factory: Callable[..., Server],
        worker_factory: Callable[..., WorkerProcess]) -> None:
    env = store_env(pg_url)
    with ThreadPoolExecutor(2) as pool:  # the processes load their models at the same time
        apis_f = pool.submit(start_apis, server_factory, tmp_path, 2, {**env, **broker.env()})
        workers_f = pool.submit(start_workers, worker_factory, broker, tmp_path, 3, env, concurrency=1)
        apis, workers = apis_f.result(), workers_f.result()

    words = [f"qz{uuid.uuid4().hex[:10]}" for _ in range(DOCUMENTS)]  # one word only each document holds
    ids: dict[int, str] = {}
    upload_errors: list[str] = []
    queries: list[tuple[str, int]] = []
    query_errors: list[str] = []
    stop_queries = threading.Event()

    def uploader(k: int) -> None:
        clients = [api.client() for api in apis]
        try:
            for i in range(k, DOCUMENTS, UPLOAD_THREADS):
                try:
                    ids[i] = upload(clients[i % 2], note(i, words[i]), f"record-{i:04d}.txt")
                except (httpx.HTTPError, AssertionError) as exc:
                    upload_errors.append(f"document {i}: {exc!r}")
        finally:
            for c in clients:
                c.close()

    def asker() -> None:
        clients = [api.client() for api in apis]
        try:
            n = 0
            while not stop_queries.is_set():
                api, http = apis[n % 2], clients[n % 2]
                try:
                    r = http.post("/api/v1/query", json={"query": f"{TEAMS[n % 5]} team pump valve",
                                                         "top_k": 5, "answer": False})
                    queries.append((api.url, r.status_code))
                    if r.status_code != 200:
                        query_errors.append(f"{api.url}: {r.status_code} {r.text[:300]}")
                except httpx.HTTPError as exc:
                    query_errors.append(f"{api.url}: {exc!r}")
                n += 1
                stop_queries.wait(0.2)  # questions at a steady pace, the machine's cores are the workers'
        finally:
            for c in clients:
                c.close()

    asking = threading.Thread(target=asker, name="asker")
    asking.start()
    try:
        uploaders = [threading.Thread(target=uploader, args=(k,), name=f"uploader-{k}")
                     for k in range(UPLOAD_THREADS)]
        for t in uploaders:
            t.start()
        for t in uploaders:
            t.join()
        assert not upload_errors, upload_errors[:5]
        assert len(ids) == DOCUMENTS
        counts = wait_processed(pg_url, list(ids.values()), timeout=600)
    finally:
        stop_queries.set()
        asking.join(120)
    assert counts == {"indexed": DOCUMENTS}, counts
    assert not query_errors, query_errors[:5]
    assert {url for url, _ in queries} == {api.url for api in apis}, "questions reached both APIs"

    assert_indexed_once(pg_url, list(ids.values()))
    [(max_attempts, jobs_done)] = rows(pg_url, "SELECT MAX(attempts), COUNT(*) FILTER (WHERE status = 'done') "
                                       "FROM jobs")
    assert (max_attempts, jobs_done) == (1, DOCUMENTS)  # no job claimed twice
    drained(broker)
    # the workers between them indexed each document once, and each of them took a share
    per_worker = indexed_by(workers)
    assert sum(per_worker) == DOCUMENTS and all(n > 0 for n in per_worker), per_worker
    assert sum(w.metric("ragd_task_failures_total", queue="interactive") for w in workers) == 0
    # what a worker indexed is found on both APIs (each follows the store's change feed)
    for i in random.Random(16).sample(range(DOCUMENTS), 5):
        for api in apis:
            with api.client() as http:
                wait_until(lambda api=api, http=http, i=i: lexical_hits(api, http, words[i]) == [ids[i]],
                           f"{api.url} to find document {i}", timeout=60)
