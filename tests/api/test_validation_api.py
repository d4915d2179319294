"""Inputs the schema bounds are refused with a 422 problem, never a 500: huge offsets, deeply nested or oversized
metadata, an empty collection name (issue 14)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from tests.support import Server

HUGE = str(2**63)
LISTS = ["/api/v1/documents", "/api/v1/conversations", "/api/v1/admin/users", "/api/v1/admin/audit",
         "/api/v1/admin/feedback"]


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server = Server(tmp_path_factory.mktemp("validation") / "data", {}).start()
    try:
        with server.client() as c:
            yield c
    finally:
        server.stop()


def _problem(r: httpx.Response, status: int = 422, code: str = "validation_error") -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("param", ["offset", "limit"])
def test_huge_offset_or_limit_is_a_validation_error(http: httpx.Client, path: str, param: str) -> None:
    body = _problem(http.get(path, params={param: HUGE}))
    assert param in body["detail"]


@pytest.mark.parametrize("path", LISTS)
def test_largest_documented_offset_is_served(http: httpx.Client, path: str) -> None:
    r = http.get(path, params={"offset": 10**9})
    assert r.status_code == 200, r.text


def _upload(http: httpx.Client, **form: str) -> httpx.Response:
    text = f"some text {uuid.uuid4().hex}".encode()
    return http.post("/api/v1/documents/upload", files=[("file", ("a.txt", text))], data=form)


def _total(http: httpx.Client) -> int:
    r = http.get("/api/v1/documents")
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


def test_deeply_nested_upload_metadata_is_a_validation_error(http: httpx.Client) -> None:
    before = _total(http)
    for depth in (17, 500, 30_000):
        body = _problem(_upload(http, metadata='{"a":' + "[" * depth + "]" * depth + "}"))
        assert "metadata" in body["detail"] and "deep" in body["detail"]
    assert _total(http) == before  # nothing was stored


def test_oversized_upload_metadata_is_a_validation_error(http: httpx.Client) -> None:
    body = _problem(_upload(http, metadata=json.dumps({"k": "x" * 70_000})))
    assert "metadata" in body["detail"]


def test_reasonable_upload_metadata_is_kept(http: httpx.Client) -> None:
    meta = {"team": "legal", "tags": ["a", "b"], "nested": {"level": {"two": [1, 2, {"three": True}]}},
            "deep": json.loads('{"a":' + "[" * 14 + "]" * 14 + "}")}  # 16 levels with meta itself: the most
    r = _upload(http, metadata=json.dumps(meta))
    assert r.status_code == 201, r.text
    assert r.json()["documents"][0]["metadata"] == meta


def test_deeply_nested_query_metadata_filter_is_refused(http: httpx.Client) -> None:
    for depth in (40, 500):
        deep = "[" * depth + "]" * depth
        raw = '{"query": "x", "answer": false, "filters": {"metadata": {"a": ' + deep + "}}}"
        r = http.post("/api/v1/query", content=raw, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_repeated_query_parameter_is_a_validation_error(http: httpx.Client) -> None:
    body = _problem(http.get("/api/v1/documents?collection=a&collection=b"))
    assert "collection" in body["detail"]
    assert http.get("/api/v1/documents?collection=default&limit=5").status_code == 200


def test_empty_collection_name_agrees_with_the_schema(http: httpx.Client) -> None:
    """An empty form field is an absent one (the schema's pattern allows it: the default collection); an empty
    collection name anywhere else breaks the pattern and is a 422."""
    upload = http.get("/openapi.json").json()["paths"]["/api/v1/documents/upload"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["collection"]["pattern"].endswith("*$")
    r = _upload(http, collection="")
    assert r.status_code == 201 and r.json()["documents"][0]["collection"] == "default", r.text
    assert "collection" in _problem(_upload(http, collection="a/b"))["detail"]
    _problem(http.get("/api/v1/documents", params={"collection": ""}))
    _problem(http.post("/api/v1/query", json={"query": "x", "answer": False, "filters": {"collection": ""}}))
