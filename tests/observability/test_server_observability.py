"""Against a real `ragd serve`: metrics after traffic, the metrics token, request ids and JSON logs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.support import Server

from ragd.observability.metrics import METRIC_NAMES

TOKEN = "metrics-token-xyz"
DOC = (b"# Rivers\n\nThe Danube flows through ten countries before reaching the Black Sea. "
       b"It is the second longest river in Europe.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("obs")
    s = Server(base / "data", {"RAGD_METRICS__TOKEN": TOKEN, "RAGD_HEALTH__MAX_MEMORY_PERCENT": "100"}).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def traffic(server: Server) -> dict:
    with server.client() as c:
        r = c.post("/api/v1/documents/upload", files=[("file", ("rivers.md", DOC))],
                   headers={"X-Request-ID": "upload-req-42"})
        assert r.status_code == 201 and r.headers["X-Request-ID"] == "upload-req-42"
        doc_id = r.json()["documents"][0]["id"]
        assert c.post("/api/v1/documents/upload", files=[("file", ("rivers.md", DOC))]).json()[
            "documents"][0]["duplicate"]
        server.wait_done(c, [doc_id])
        answered = c.post("/api/v1/query", json={"query": "Where does the Danube flow to?"})
        assert answered.json()["found"]
        assert not c.post("/api/v1/query", json={"query": "xylophone quasar"}).json()["found"]
        assert c.get("/api/v1/documents/d_missing").status_code == 404
        assert c.post("/api/v1/query", json={}).status_code == 422
        generated = c.get("/api/v1/health").headers["X-Request-ID"]
        bad = c.get("/api/v1/health", headers={"X-Request-ID": "bad id\twith spaces"}).headers["X-Request-ID"]
        return {"doc_id": doc_id, "generated": generated, "bad": bad}


def _scrape(server: Server) -> dict[tuple[str, tuple], float]:
    r = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_need_the_token(server: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.get(server.url + "/metrics", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_every_metric_has_sensible_values_after_traffic(server: Server, traffic: dict) -> None:
    s = _scrape(server)
    names = {n for n, _ in s}
    for name in METRIC_NAMES:
        assert any(n.startswith(name.removesuffix("_total")) for n in names), name
    assert s[("rag_queries_total", (("status", "answered"),))] == 1
    assert s[("rag_queries_total", (("status", "no_answer"),))] == 1
    assert s[("rag_queries_total", (("status", "error"),))] == 0
    for hist in ("rag_retrieval_latency_seconds", "rag_generation_latency_seconds", "rag_total_latency_seconds"):
        assert s[(f"{hist}_count", ())] == 2
        assert 0 < s[(f"{hist}_sum", ())] < 30
    assert s[("rag_total_latency_seconds_sum", ())] >= s[("rag_retrieval_latency_seconds_sum", ())]
    assert s[("rag_index_size", (("collection", "default"),))] >= 1
    assert s[("rag_dense_index_vectors", ())] == s[("rag_index_size", (("collection", "default"),))]
    assert s[("rag_documents_processed_total", (("status", "indexed"),))] == 1
    assert s[("rag_ingest_queue_depth", ())] == 0
    assert s[("ragd_jobs", (("queue", "interactive"), ("state", "done")))] == 1
    assert s[("ragd_jobs", (("queue", "interactive"), ("state", "queued")))] == 0
    assert s[("ragd_jobs_oldest_queued_seconds", (("queue", "bulk"),))] == 0
    assert not any(n.startswith("ragd_broker") for n in names)  # embedded mode
    assert s[("rag_cache_hits_total", (("cache", "upload"),))] == 1
    route = (("method", "POST"), ("route", "/api/v1/query"), ("status", "200"))
    assert s[("rag_requests_total", route)] == 2
    assert s[("rag_requests_total", (("method", "GET"), ("route", "/api/v1/documents/{doc_id}"),
                                     ("status", "404")))] == 1
    assert s[("rag_request_duration_seconds_count", (("method", "POST"), ("route", "/api/v1/query")))] >= 2
    assert s[("rag_active_connections", ())] == 1  # the scrape itself
    assert s[("rag_model_tokens_total", (("direction", "input"),))] > 5
    assert s[("rag_model_tokens_total", (("direction", "output"),))] > 5
    assert s[("rag_feedback_total", (("rating", "up"),))] == 0
    assert s[("rag_errors_total", (("code", "document_not_found"),))] == 1
    assert s[("rag_errors_total", (("code", "validation_error"),))] == 1
    assert 0 < s[("rag_disk_free_ratio", ())] <= 1 and s[("rag_disk_free_bytes", ())] > 0
    assert 0 < s[("rag_memory_usage_ratio", ())] <= 1


def test_request_ids_and_json_logs(server: Server, traffic: dict) -> None:
    assert len(traffic["generated"]) == 32 and traffic["bad"] != "bad id\twith spaces"
    ready = httpx.get(server.url + "/api/v1/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    log_file = server.data_dir.parent / f"server-{server.port}.log"
    records = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    assert records, "the server's stderr is not a terminal: logs must be JSON"
    uploads = [r for r in records if r.get("event") == "request" and r.get("route") == "/api/v1/documents/upload"]
    assert uploads[0]["request_id"] == "upload-req-42" and uploads[0]["status"] == 201
    assert {"method", "status", "duration_ms", "timestamp", "level"} <= uploads[0].keys()
    processed = [r for r in records if r.get("event") == "document_processed"]
    assert processed and processed[0]["request_id"] == "upload-req-42"  # carried into the background job
    assert processed[0]["document_id"] == traffic["doc_id"] and processed[0]["status"] == "indexed"
    assert TOKEN not in log_file.read_text()
