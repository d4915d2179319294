"""``POST /api/v1/documents/fetch``: a page or a sitemap fetched from a local web site, indexed and audited; the
default settings refuse a loopback address with 422 url_not_allowed and store nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.httpsite import Site, serve_site

from ragd.api.app import create_app
from ragd.config import Settings
from ragd.core import Ragd


@pytest.fixture
def site() -> Iterator[Site]:
    with serve_site() as s:
        yield s


def app_client(tmp_path: Path, **fetch: object) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data", auth={"enabled": False}, fetch=fetch)))


def wait_indexed(c: TestClient, ids: list[str], timeout: float = 60.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        docs = {i: c.get(f"/api/v1/documents/{i}").json() for i in ids}
        if all(d["status"] in ("indexed", "failed") for d in docs.values()):
            return docs
        assert time.monotonic() < deadline, docs
        threading.Event().wait(0.1)  # between two polls of the documents' states


def test_pages_and_sitemaps_are_fetched_indexed_and_audited(tmp_path: Path, site: Site) -> None:
    with app_client(tmp_path, allow_private_addresses=True, max_mb=1) as c:
        r = c.post("/api/v1/documents/fetch", json={"url": site.url("/page.html"), "collection": "web"})
        assert r.status_code == 201, r.text
        doc = r.json()["documents"][0]
        assert doc["filename"] == "127.0.0.1 › page.html" and doc["metadata"]["source_url"] == site.url("/page.html")
        assert doc["mime"] == "text/html" and doc["collection"] == "web"
        assert wait_indexed(c, [doc["id"]])[doc["id"]]["status"] == "indexed"
        hits = c.post("/api/v1/query", json={"query": "when are boilers repaired", "answer": False}).json()
        assert any("Mondays and Thursdays" in h["text"] for h in hits["results"])
        ragd: Ragd = c.app.state.ragd  # type: ignore[attr-defined]
        entries, _ = ragd.audit.list(action="document.uploaded")
        assert entries[0].target == doc["id"] and entries[0].details["source_url"] == site.url("/page.html")

        # a sitemap: its pages are stored (the same page again is a duplicate), the missing one is listed
        r = c.post("/api/v1/documents/fetch", json={"url": site.url("/sitemap.xml"), "sitemap": True,
                                                    "collection": "web"})
        assert r.status_code == 201, r.text
        body = r.json()
        assert sorted((d["filename"], d["duplicate"]) for d in body["documents"]) == [
            ("127.0.0.1 › doc.txt", False), ("127.0.0.1 › page.html", True)]
        assert [(f["url"], f["code"]) for f in body["failed"]] == [(site.url("/missing"), "fetch_failed")]

        # what the remote site does wrong is the request's problem, and stores nothing
        r = c.post("/api/v1/documents/fetch", json={"url": site.url("/missing")})
        assert r.status_code == 422 and r.json()["code"] == "fetch_failed", r.text
        r = c.post("/api/v1/documents/fetch", json={"url": site.url("/big")})
        assert r.status_code == 413 and r.json()["code"] == "payload_too_large", r.text
        assert c.get("/api/v1/documents").json()["total"] == 2


def test_by_default_a_private_address_is_refused(tmp_path: Path, site: Site) -> None:
    with app_client(tmp_path) as c:
        r = c.post("/api/v1/documents/fetch", json={"url": site.url("/page.html")})
        assert r.status_code == 422 and r.json()["code"] == "url_not_allowed", r.text
        r = c.post("/api/v1/documents/fetch", json={"url": "file:///etc/passwd"})
        assert r.status_code == 422 and r.json()["code"] == "url_not_allowed", r.text
        assert c.get("/api/v1/documents").json()["total"] == 0 and site.hosts_seen == []
