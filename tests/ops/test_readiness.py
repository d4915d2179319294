"""Readiness checks against a real instance: ready, then not ready when the index or the disk is wrong."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from ragd.api.app import create_app
from ragd.config import Settings
from ragd.core import Ragd
from ragd.ops.readiness import readiness


def test_ready_then_not_ready(data_copy: Path) -> None:
    settings = Settings(data_dir=data_copy, ingest={"workers": 0}, health={"max_memory_percent": 100})
    r = Ragd(settings)
    body = readiness(r)
    assert body["status"] == "ready", body
    assert set(body["checks"]) == {"database", "index", "lexical_index", "index_lag", "embedding_model", "llm", "disk",
                                   "memory"}
    assert body["index_lag"] == 0
    assert all(c["status"] == "ok" and c["detail"] for c in body["checks"].values())

    seq = int(r.index.seqs()[0])
    r.index.remove([seq])  # the derived index loses a vector the store still has
    body = readiness(r)
    assert body["status"] == "not_ready"
    assert body["checks"]["index"]["status"] == "fail" and "rebuild" in body["checks"]["index"]["detail"]

    r.rebuild_index()
    r.settings.health.min_free_disk_percent = 100.0  # no file system is that empty
    with TestClient(create_app(settings, ragd=r)) as client:
        resp = client.get("/api/v1/ready")
        assert resp.status_code == 503
        checks = resp.json()["checks"]
        assert checks["disk"]["status"] == "fail" and checks["index"]["status"] == "ok"
        r.settings.health.min_free_disk_percent = 0.0
        assert client.get("/api/v1/ready").status_code == 200
        assert client.get("/api/v1/health").status_code == 200


def test_not_ready_while_the_bm25_index_is_built(data_copy: Path) -> None:
    r = Ragd(Settings(data_dir=data_copy, ingest={"workers": 0}, health={"max_memory_percent": 100}))
    assert r.lexical is not None and not r.lexical.built
    building = threading.Event()
    release = threading.Event()
    real_iter = r.store.iter_lexical

    def slow_iter(batch: int = 10_000) -> Iterator[list[tuple[int, str]]]:
        building.set()
        release.wait(30)
        yield from real_iter(batch)

    r.store.iter_lexical = slow_iter  # type: ignore[method-assign]
    builder = threading.Thread(target=r.lexical.sync, args=(r.store,))
    builder.start()
    assert building.wait(30)
    body = readiness(r)
    assert body["status"] == "not_ready"
    assert body["checks"]["lexical_index"]["status"] == "fail" and "built" in body["checks"]["lexical_index"]["detail"]
    # the BM25 index has not reached the change feed's head seen at start: not ready, and the body says how far
    assert body["index_lag"] == r.store.last_change_id() > 0
    assert body["checks"]["index_lag"]["status"] == "fail" and "behind" in body["checks"]["index_lag"]["detail"]
    release.set()
    builder.join(30)
    body = readiness(r)
    assert body["status"] == "ready" and body["index_lag"] == 0
    assert r.query("flight", answer=False).retrieval.hits  # searches go through the built index
    r.close()
