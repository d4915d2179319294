"""Every response carries X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer and X-Frame-Options: DENY
(ragd.api.headers), whatever produced it: JSON, problem+json, the UI's page and assets, a PDF page image, a
download, a streamed answer, and the refusals of the body limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.support import FIXTURES, Server

from ragd.api.app import create_app
from ragd.config import Settings

EXPECTED = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    s = Server(tmp_path_factory.mktemp("headers") / "data", {"RAGD_INGEST__WORKERS": "0"}).start()
    with s.client() as c:
        yield c
    s.stop()


def test_every_kind_of_response_carries_the_security_headers(client: httpx.Client) -> None:
    pdf = (FIXTURES / "pdf" / "multi_page.pdf").read_bytes()
    up = client.post("/api/v1/documents/upload", files={"file": ("m.pdf", pdf)})
    doc = up.json()["documents"][0]["id"]
    index = client.get("/")
    asset = re.search(r'(/assets/[^"]+\.js)', index.text)
    assert asset, index.text[:500]
    responses: dict[str, httpx.Response] = {
        "created (JSON)": up,
        "JSON": client.get("/api/v1/health"),
        "problem+json": client.get("/api/v1/documents/d_doesnotexist"),
        "validation problem": client.post("/api/v1/query", json={}),
        "HTML page": index,
        "static asset": client.get(asset.group(1)),
        "favicon": client.get("/favicon.ico"),
        "PDF page image": client.get(f"/api/v1/documents/{doc}/pages/1", params={"scale": 0.5}),
        "download": client.get(f"/api/v1/documents/{doc}/file"),
        "OpenAPI": client.get("/openapi.json"),
        "body too large": client.post("/api/v1/query", content=b" " * (2 * 1024 * 1024),
                                      headers={"Content-Type": "application/json"}),
        "unknown path": client.get("/nowhere"),
        "no content": client.delete(f"/api/v1/documents/{doc}"),
    }
    with client.stream("POST", "/api/v1/query", json={"query": "pages", "stream": True}) as streamed:
        assert streamed.headers["content-type"].startswith("text/event-stream")
        streamed.read()
        responses["streamed SSE"] = streamed
    assert responses["PDF page image"].headers["content-type"] == "image/png"
    assert responses["problem+json"].headers["content-type"].startswith("application/problem+json")
    assert responses["body too large"].status_code == 413
    for kind, r in responses.items():
        got = {name: r.headers.get(name) for name in EXPECTED}
        assert got == EXPECTED, (kind, r.status_code, got)
    # the UI page keeps its own, stricter policy
    assert "frame-ancestors 'none'" in index.headers["content-security-policy"]


def test_an_unexpected_error_carries_the_security_headers_too(tmp_path: Path) -> None:
    """A 500 is rendered by Starlette's outermost middleware, outside SecurityHeadersMiddleware."""
    app = create_app(Settings(data_dir=tmp_path / "data", auth={"enabled": False}, ingest={"workers": 0}))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    for name, value in EXPECTED.items():
        assert r.headers.get(name) == value, name
