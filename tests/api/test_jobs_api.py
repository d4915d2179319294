"""The ingestion queues over HTTP (issue 16): the per-tenant limit (429 ``queue_full`` with Retry-After, nothing
stored), ``GET /api/v1/admin/jobs`` and the ``ragd_jobs`` metrics, on a real server whose in-process workers are
off (``RAGD_INGEST__WORKERS=0``), so what is queued stays queued."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.auth.conftest import World, serve_world

from ragd.jobs.admission import QUEUE_FULL_RETRY_S

LIMIT = 3


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from serve_world(tmp_path_factory.mktemp("jobs") / "data", RAGD_INGEST__WORKERS="0",
                           RAGD_JOBS__MAX_QUEUED_PER_TENANT=str(LIMIT))


def upload(world: World, caller: str, n: int, tag: str) -> tuple[int, dict]:
    files = [("file", (f"{tag}-{i}.txt", f"note {tag} number {i}".encode())) for i in range(n)]
    r = world.http.post("/api/v1/documents/upload", files=files, headers=world.as_(caller))
    return r.status_code, r.json() | {"retry-after": r.headers.get("retry-after")}


def total(world: World, caller: str) -> int:
    r = world.http.get("/api/v1/documents", headers=world.as_(caller))
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


def metrics(world: World) -> dict[tuple[str, tuple], float]:
    r = world.http.get("/metrics")
    assert r.status_code == 200, r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(r.text) for s in f.samples}


def test_queue_limit_admin_jobs_and_metrics(world: World) -> None:
    # more files than the limit itself could never fit: 413, no point retrying
    status, body = upload(world, "admin_a", LIMIT + 1, "huge")
    assert status == 413 and body["code"] == "payload_too_large" and "smaller requests" in body["detail"], body
    assert total(world, "admin_a") == 0
    # tenant "default": two files, then one: the limit (3) is reached
    assert upload(world, "user_a", 2, "first")[0] == 201
    status, body = upload(world, "admin_a", 1, "second")
    assert status == 201, body
    doc_id = body["documents"][0]["id"]

    # one more is refused, whole and at once: 429 queue_full, Retry-After, nothing stored
    status, body = upload(world, "api_a", 1, "third")
    assert status == 429 and body["code"] == "queue_full", body
    assert body["retry-after"] == str(QUEUE_FULL_RETRY_S) and body["retry_after"] == QUEUE_FULL_RETRY_S
    assert body["queued"] == LIMIT and body["limit"] == LIMIT and "waiting for ingestion" in body["detail"]
    assert total(world, "admin_a") == 3
    r = world.http.post(f"/api/v1/documents/{doc_id}/reindex", headers=world.as_("admin_a"))
    assert r.status_code == 429 and r.json()["code"] == "queue_full" and r.headers["Retry-After"], r.text
    # two files when one fits: refused whole
    r = world.http.delete(f"/api/v1/documents/{doc_id}", headers=world.as_("admin_a"))
    assert r.status_code == 204, r.text
    status, body = upload(world, "admin_a", 2, "two")
    assert status == 429 and body["code"] == "queue_full" and body["queued"] == 2, body
    assert upload(world, "admin_a", 1, "fits")[0] == 201
    assert total(world, "admin_a") == 3

    # another tenant has a queue of its own
    assert upload(world, "user_b", 1, "acme")[0] == 201

    # the operator sees every queue; counts come from the store
    r = world.http.get("/api/v1/admin/jobs", headers=world.as_("admin_a"))
    assert r.status_code == 200, r.text
    jobs = r.json()
    assert jobs["mode"] == "embedded" and jobs["broker"] is None
    assert jobs["queues"]["interactive"] == {"queued": 4, "running": 0, "done": 0, "failed": 0}
    assert jobs["queues"]["bulk"] == {"queued": 0, "running": 0, "done": 0, "failed": 0}
    assert jobs["oldest_queued_s"]["interactive"] > 0 and jobs["oldest_queued_s"]["bulk"] == 0
    assert jobs["tenant"] == {"active_jobs": 3, "max_queued": LIMIT}

    # an admin of another tenant sees their own tenant only
    r = world.http.get("/api/v1/admin/jobs", headers=world.as_("admin_b"))
    assert r.status_code == 200, r.text
    assert r.json() == {"mode": "embedded", "tenant": {"active_jobs": 1, "max_queued": LIMIT}}
    for caller in ("user_a", "api_a", "viewer_a"):
        r = world.http.get("/api/v1/admin/jobs", headers=world.as_(caller))
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (caller, r.text)

    s = metrics(world)
    assert s[("ragd_jobs", (("queue", "interactive"), ("state", "queued")))] == 4
    assert s[("ragd_jobs", (("queue", "bulk"), ("state", "running")))] == 0
    assert s[("ragd_jobs_oldest_queued_seconds", (("queue", "interactive"),))] > 0
    assert s[("rag_ingest_queue_depth", ())] == 4  # the dashboards' metric, unchanged
    assert not any(name.startswith("ragd_broker") for name, _ in s)  # embedded mode: no broker
    assert s[("rag_errors_total", (("code", "queue_full"),))] >= 2
