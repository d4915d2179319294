"""The HTTP API end to end, against a real `ragd serve` on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.support import FIXTURES, Server

PROBLEM_KEYS = {"type", "title", "status", "code", "detail"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("api")
    s = Server(base / "data", {"RAGD_INGEST__MAX_UPLOAD_MB": "5"}).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def upload(client: httpx.Client, *files: tuple[str, bytes], **form: str) -> httpx.Response:
    return client.post("/api/v1/documents/upload", files=[("file", f) for f in files], data=form)


def assert_problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert (
        body.keys() >= PROBLEM_KEYS and body["code"] == code and body["status"] == status and body["detail"]
    )


@pytest.fixture(scope="module")
def multi_page(server: Server, client: httpx.Client) -> dict:
    r = upload(
        client, ("multi_page.pdf", (FIXTURES / "pdf" / "multi_page.pdf").read_bytes()), collection="manuals"
    )
    assert r.status_code == 201, r.text
    doc = r.json()["documents"][0]
    assert doc["status"] == "pending" and doc["id"]
    return server.wait_done(client, [doc["id"]])[doc["id"]]


def test_health(client: httpx.Client) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_openapi_docs(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/query", "/api/v1/documents/upload", "/api/v1/documents/{doc_id}"} <= paths.keys()


def test_pdf_is_indexed_with_pages(multi_page: dict) -> None:
    assert multi_page["status"] == "indexed", multi_page
    assert multi_page["pages"] == 5 and multi_page["num_chunks"] > 0


def test_answer_cites_the_right_page(client: httpx.Client, multi_page: dict) -> None:
    # groundtruth: the section "Specialized Word Processing Tools" is on page 3 of multi_page.pdf
    r = client.post(
        "/api/v1/query", json={"query": "Which specialized word processing tools exist?", "top_k": 5}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["found"] and body["answer"]
    assert body["citations"], body
    first = body["citations"][0]
    assert first["document_id"] == multi_page["id"] and first["filename"] == "multi_page.pdf"
    assert first["page"] == 3, body["citations"]
    assert "[1]" in body["answer"]
    text = client.get(f"/api/v1/documents/{multi_page['id']}/text").json()["text"]
    assert text[first["start"] : first["end"]] == first["text"]  # the citation can be checked
    assert {"chunk_id", "document_id", "filename", "page", "text", "score"} <= body["results"][0].keys()
    assert "retrieval" in body["timings_ms"]


def test_no_answer_when_nothing_relevant(client: httpx.Client, multi_page: dict) -> None:
    r = client.post("/api/v1/query", json={"query": "best recipe for chocolate soufflé with raspberries"})
    assert r.status_code == 200
    assert r.json()["found"] is False and r.json()["answer"] == "No answer found in the documents."


def test_reupload_identical_bytes_is_a_noop(client: httpx.Client, multi_page: dict) -> None:
    data = (FIXTURES / "pdf" / "multi_page.pdf").read_bytes()
    r = upload(client, ("renamed.pdf", data), collection="manuals")
    assert r.status_code == 201
    doc = r.json()["documents"][0]
    assert doc["id"] == multi_page["id"] and doc["duplicate"] is True


def test_new_version_replaces_old_chunks(server: Server, client: httpx.Client) -> None:
    v1 = upload(
        client, ("policy.md", b"# Leave\n\nStaff get 25 days of paid leave per year.\n"), collection="hr"
    )
    id1 = v1.json()["documents"][0]["id"]
    server.wait_done(client, [id1])
    v2 = upload(
        client, ("policy.md", b"# Leave\n\nStaff get 30 days of paid leave per year.\n"), collection="hr"
    )
    d2 = v2.json()["documents"][0]
    assert d2["id"] != id1 and d2["replaces"] == id1
    server.wait_done(client, [d2["id"]])
    assert client.get(f"/api/v1/documents/{id1}").status_code == 404
    q = {"query": "How many days of paid leave?", "filters": {"collection": "hr"}}
    results = client.post("/api/v1/query", json=q).json()["results"]
    assert [r["document_id"] for r in results] == [d2["id"]]
    assert "30 days" in results[0]["text"]


def test_delete_removes_chunks_from_every_index(server: Server, client: httpx.Client) -> None:
    r = upload(client, ("zebra.txt", b"Zebras in the Serengeti migrate north in July.\n"), collection="tmp")
    doc_id = r.json()["documents"][0]["id"]
    server.wait_done(client, [doc_id])
    for mode in ("bm25", "dense"):
        q = {"query": "zebra migration Serengeti", "mode": mode, "filters": {"collection": "tmp"}}
        assert client.post("/api/v1/query", json=q).json()["results"]
    assert client.delete(f"/api/v1/documents/{doc_id}").status_code == 204
    for mode in ("bm25", "dense", "hybrid"):
        q = {"query": "zebra migration Serengeti", "mode": mode}
        ids = [x["document_id"] for x in client.post("/api/v1/query", json=q).json()["results"]]
        assert doc_id not in ids
    assert_problem(client.get(f"/api/v1/documents/{doc_id}"), 404, "document_not_found")
    assert_problem(client.delete(f"/api/v1/documents/{doc_id}"), 404, "document_not_found")


def test_filters(server: Server, client: httpx.Client) -> None:
    r = upload(
        client,
        ("fleet.csv", b"plane,seats\nA320,180\nB737,189\n"),
        ("fleet.html", b"<html><body><h1>Fleet</h1><p>The A320 has 180 seats.</p></body></html>"),
        collection="fleet",
        metadata='{"dept": "ops"}',
    )
    docs = r.json()["documents"]
    server.wait_done(client, [d["id"] for d in docs])
    base = {"query": "A320 seats", "top_k": 10}
    only_csv = client.post("/api/v1/query", json={**base, "filters": {"file_types": ["csv"]}}).json()[
        "results"
    ]
    assert only_csv and {x["filename"] for x in only_csv} == {"fleet.csv"}
    by_meta = client.post("/api/v1/query", json={**base, "filters": {"metadata": {"dept": "ops"}}}).json()
    assert {x["filename"] for x in by_meta["results"]} == {"fleet.csv", "fleet.html"}
    by_doc = client.post("/api/v1/query", json={**base, "filters": {"document_ids": [docs[1]["id"]]}}).json()
    assert {x["document_id"] for x in by_doc["results"]} == {docs[1]["id"]}
    none = client.post("/api/v1/query", json={**base, "filters": {"metadata": {"dept": "finance"}}}).json()
    assert none["results"] == [] and none["found"] is False
    assert_problem(
        client.post("/api/v1/query", json={**base, "filters": {"file_types": ["exe"]}}), 400, "invalid_filter"
    )


def test_listing_is_paginated(client: httpx.Client, multi_page: dict) -> None:
    body = client.get("/api/v1/documents", params={"limit": 1}).json()
    assert len(body["documents"]) == 1 and body["total"] >= 1 and body["limit"] == 1
    assert_problem(client.get("/api/v1/documents", params={"limit": 0}), 422, "validation_error")


def test_unsupported_type_is_415(client: httpx.Client) -> None:
    gif = b"GIF89a" + b"\x00" * 64  # PNG, JPEG and TIFF are read by OCR (docs/formats.md); GIF is not
    assert_problem(upload(client, ("photo.pdf", gif)), 415, "unsupported_media_type")


def test_too_large_is_413(client: httpx.Client) -> None:
    big = b"word " * (5 * 1024 * 1024 // 5 + 10)
    assert_problem(upload(client, ("big.txt", big)), 413, "payload_too_large")


def test_one_bad_file_rejects_the_whole_upload(client: httpx.Client) -> None:
    before = client.get("/api/v1/documents").json()["total"]
    r = upload(client, ("ok.txt", b"fine text here"), ("bad.bin", b"\x7fELF\x02\x01\x01" + b"\x00" * 50))
    assert_problem(r, 415, "unsupported_media_type")
    assert client.get("/api/v1/documents").json()["total"] == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": ""},
        {"query": "x", "top_k": 0},
        {"query": "x", "top_k": 1000},
        {"query": "x", "mode": "magic"},
        {"query": "x", "unknown": 1},
        {"query": 42},
        {"query": "x", "filters": {"collection": 5}},
    ],
)
def test_malformed_query_is_422(client: httpx.Client, body: dict) -> None:
    assert_problem(client.post("/api/v1/query", json=body), 422, "validation_error")


def test_not_json_is_422(client: httpx.Client) -> None:
    r = client.post("/api/v1/query", content=b"{not json", headers={"content-type": "application/json"})
    assert_problem(r, 422, "validation_error")


def test_upload_without_file_is_422(client: httpx.Client) -> None:
    assert_problem(client.post("/api/v1/documents/upload", data={"collection": "x"}), 422, "validation_error")


def test_bad_metadata_is_400(client: httpx.Client) -> None:
    assert_problem(upload(client, ("a.txt", b"text"), metadata="[1,2"), 400, "bad_request")


def test_unknown_route_is_problem_json(client: httpx.Client) -> None:
    assert_problem(client.get("/api/v1/nope"), 404, "not_found")


def test_rebuild_index(client: httpx.Client, multi_page: dict) -> None:
    r = client.post("/api/v1/admin/rebuild-index")
    assert r.status_code == 200 and r.json()["vectors"] > 0
    stats = client.get("/api/v1/admin/stats").json()
    assert stats["vectors"] == stats["chunks"]


def test_download_original(client: httpx.Client, multi_page: dict) -> None:
    r = client.get(f"/api/v1/documents/{multi_page['id']}/file")
    assert r.status_code == 200 and r.content == (FIXTURES / "pdf" / "multi_page.pdf").read_bytes()
