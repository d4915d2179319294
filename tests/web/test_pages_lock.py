"""The PDF page endpoints under load (ragd.api.routes.pages): one request's passage search is bounded (422
input_too_long past limits.boxes_*) and never holds PDFium's process-wide lock while it matches, so other users'
page images are rendered meanwhile."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import httpx
import pypdfium2 as pdfium
import pytest
from tests.support import FIXTURES, Server

SLOW_PAGE = FIXTURES / "pdf" / "nics-background-checks-2015-11.pdf"  # one page of 5,700 characters, many repeated
OTHER = FIXTURES / "pdf" / "multi_page.pdf"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # the largest search the settings allow, so that one request is slow for sure
    env = {"RAGD_INGEST__WORKERS": "0", "RAGD_LIMITS__BOXES_MAX_TEXT_CHARS": "4000",
           "RAGD_LIMITS__BOXES_MAX_TERMS": "4000"}
    s = Server(tmp_path_factory.mktemp("pagelock") / "data", env).start()
    yield s
    s.stop()


def upload(c: httpx.Client, path) -> str:  # type: ignore[no-untyped-def]
    r = c.post("/api/v1/documents/upload", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 201, r.text
    return str(r.json()["documents"][0]["id"])


def near_miss(path, length: int = 4000) -> str:  # type: ignore[no-untyped-def]
    """The page's own text with every 7th character changed: no exact match, so the fallback matcher compares it
    with the whole page (seconds of work)."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[0]
        tp = page.get_textpage()
        text = re.sub(r"\s+", "", tp.get_text_range())[:length]
        tp.close()
        page.close()
    finally:
        pdf.close()
    return "".join("~" if i % 7 == 0 else ch for i, ch in enumerate(text))


def in_flight(c: httpx.Client) -> float:
    m = re.search(r"^rag_active_connections(?:\{[^}]*\})? (\S+)$", c.get("/metrics").text, re.M)
    assert m, "no rag_active_connections gauge"
    return float(m.group(1))


def test_a_long_search_does_not_make_page_images_of_other_documents_wait(server: Server) -> None:
    with server.client() as c:
        slow_doc, other_doc = upload(c, SLOW_PAGE), upload(c, OTHER)
        needle = near_miss(SLOW_PAGE)
        assert c.get(f"/api/v1/documents/{other_doc}/pages/1", params={"scale": 0.5}).status_code == 200
    search_done = threading.Event()
    result: dict[str, httpx.Response] = {}

    def search() -> None:
        with httpx.Client(base_url=server.url, timeout=600) as s:
            result["r"] = s.get(f"/api/v1/documents/{slow_doc}/pages/1/boxes", params={"text": needle})
        search_done.set()

    thread = threading.Thread(target=search)
    thread.start()
    with server.client() as c:
        for _ in range(600):  # until the search is in flight on the server (this metrics request is the other one)
            if in_flight(c) >= 2 or search_done.is_set():
                break
            search_done.wait(0.05)
        assert not search_done.is_set(), "the search ended before the renders began: it is not slow here"
        for page in (1, 2, 3, 4, 5, 1, 2):
            r = c.get(f"/api/v1/documents/{other_doc}/pages/{page}", params={"scale": 0.5})
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        renders_done_first = not search_done.is_set()
    thread.join(600)
    assert result["r"].status_code == 200, result["r"].text
    assert renders_done_first, "the page images waited for another request's passage search"


def test_search_text_is_bounded(tmp_path_factory: pytest.TempPathFactory) -> None:
    s = Server(tmp_path_factory.mktemp("pagecap") / "data", {"RAGD_INGEST__WORKERS": "0"}).start()
    try:
        with s.client() as c:
            doc = upload(c, OTHER)
            boxes = f"/api/v1/documents/{doc}/pages/1/boxes"
            r = c.get(boxes, params={"text": "x" * 501})
            assert r.status_code == 422 and r.json()["code"] == "input_too_long", r.text
            assert "RAGD_LIMITS__BOXES_MAX_TEXT_CHARS" in r.json()["detail"]
            r = c.get(boxes, params={"text": "a " * 201})
            assert r.status_code == 422 and r.json()["code"] == "input_too_long", r.text
            assert "RAGD_LIMITS__BOXES_MAX_TERMS" in r.json()["detail"]
            r = c.get(boxes, params={"text": "Lorem ipsum"})
            assert r.status_code == 200, r.text
    finally:
        s.stop()
