"""Broker mode across processes for the end-to-end tests (tests/e2e/test_workers_distributed.py,
tests/e2e/test_worker_faults.py): ``ragd serve`` and ``ragd worker`` processes on one PostgreSQL store, and what
"indexed exactly once" means when one can only look at the store.

**Exactly once, observably** (:func:`assert_indexed_once`), for each document:

* it is ``indexed`` and has exactly one job, ``done``;
* its chunks are there once: as many rows as distinct ordinals, and as many as the document's ``num_chunks`` (> 0);
* they were committed once: the store's change feed (``changes``, written by a trigger on every chunk insert and
  delete) holds one ``add`` per chunk of the document and the whole store holds no ``del`` — a second indexing
  of a document replaces its chunks, leaving ``del`` rows and more ``add`` rows than chunks.

The workers' own count of indexing events (``rag_documents_processed_total{status="indexed"}``, summed over the
worker processes) is checked by the tests that know which workers ran."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
from tests.backend import SHARED_KEYS
from tests.jobs.workers import Broker, WorkerProcess, wait_until
from tests.support import Server


def store_env(store_url: str) -> dict[str, str]:
    """What a ``ragd serve`` or ``ragd worker`` of these tests needs to share one PostgreSQL store."""
    return {"RAGD_STORE__URL": store_url, **SHARED_KEYS}


def start_apis(server_factory: Callable[..., Server], base: Path, n: int, env: dict[str, str],
               timeout: float = 300.0) -> list[Server]:
    """``n`` ``ragd serve`` processes on data directories of their own under ``base``, started at once."""
    servers = []
    for i in range(n):
        data = base / f"api{i}" / "data"
        data.parent.mkdir(parents=True, exist_ok=True)
        servers.append(server_factory(data, **env))
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(lambda s: s.start(timeout), servers))
    return servers


def start_workers(worker_factory: Callable[..., WorkerProcess], broker: Broker, base: Path, n: int,
                  env: dict[str, str], **options: Any) -> list[WorkerProcess]:
    """``n`` ``ragd worker`` processes (data directories of their own under ``base``), started at once; each
    returned once it consumes."""
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda i: worker_factory(broker, data_dir=base / f"worker{i}" / "data", env=env,
                                                      **options), range(n)))


def upload(http: httpx.Client, text: str, name: str | None = None) -> str:
    """One single-file upload (the ``interactive`` queue); acknowledged with 201, returns the document's id."""
    r = http.post("/api/v1/documents/upload", files=[("file", (name or f"{uuid.uuid4().hex[:8]}.txt",
                                                               text.encode()))])
    assert r.status_code in (201, 202), r.text
    return str(r.json()["documents"][0]["id"])


def rows(store_url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(store_url, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]  # type: ignore[arg-type]


def statuses(store_url: str, doc_ids: Sequence[str]) -> dict[str, int]:
    """How many of ``doc_ids`` are in each document status."""
    return {status: n for status, n in rows(
        store_url, "SELECT status, COUNT(*) FROM documents WHERE id = ANY(%s) GROUP BY status", (list(doc_ids),))}


def wait_processed(store_url: str, doc_ids: Sequence[str], timeout: float = 600.0) -> dict[str, int]:
    """Wait until every one of ``doc_ids`` is indexed or failed; returns the counts by status."""
    def done() -> dict[str, int] | None:
        counts = statuses(store_url, doc_ids)
        return counts if counts.get("indexed", 0) + counts.get("failed", 0) == len(doc_ids) else None

    return wait_until(done, f"{len(doc_ids)} documents to be indexed", timeout=timeout, interval=0.5)


def assert_indexed_once(store_url: str, doc_ids: Sequence[str]) -> None:
    """Every one of ``doc_ids`` indexed exactly once (module docstring); ``doc_ids`` are all the store holds."""
    ids = list(doc_ids)
    assert len(set(ids)) == len(ids), "a document id was returned twice"
    docs = {d: (status, n) for d, status, n in rows(
        store_url, "SELECT id, status, num_chunks FROM documents WHERE id = ANY(%s)", (ids,))}
    assert set(docs) == set(ids), f"missing documents: {set(ids) - set(docs)}"
    not_indexed = {d: s for d, (s, _) in docs.items() if s != "indexed"}
    assert not not_indexed, f"not indexed: {not_indexed}"
    jobs = {d: (n, status) for d, n, status in rows(
        store_url, "SELECT document_id, COUNT(*), MIN(status) FROM jobs GROUP BY document_id HAVING "
        "COUNT(*) > 1 OR MIN(status) <> 'done' OR MAX(status) <> 'done'")}
    assert not jobs, f"documents with several jobs or a job not done: {jobs}"
    chunks = {d: (n, distinct) for d, n, distinct in rows(
        store_url, "SELECT document_id, COUNT(*), COUNT(DISTINCT ordinal) FROM chunks GROUP BY document_id")}
    assert set(chunks) == set(ids)
    wrong = {d: (chunks[d], docs[d][1]) for d in ids if not (chunks[d][0] == chunks[d][1] == docs[d][1] > 0)}
    assert not wrong, f"chunks (rows, ordinals) against num_chunks: {wrong}"
    feed = dict(rows(store_url, "SELECT op, COUNT(*) FROM changes GROUP BY op"))
    assert feed == {"add": sum(n for n, _ in chunks.values())}, f"change feed {feed}: some chunks committed twice"
    adds = {d: n for d, n in rows(
        store_url, "SELECT c.document_id, COUNT(*) FROM changes f JOIN chunks c ON c.seq = f.seq "
        "WHERE f.op = 'add' GROUP BY c.document_id")}
    assert adds == {d: docs[d][1] for d in ids}


def indexed_by(workers: Sequence[WorkerProcess]) -> list[float]:
    """Documents each worker process indexed (its ``rag_documents_processed_total{status="indexed"}``)."""
    return [w.metric("rag_documents_processed_total", status="indexed") for w in workers]


def drained(broker: Broker, timeout: float = 180.0) -> None:
    """Wait until the broker holds no ready message in the test's queues (read on the broker itself)."""
    wait_until(lambda: not any(broker.ready_messages().values()), "the broker queues to drain", timeout=timeout,
               interval=0.5)
