"""The citation viewer's endpoints: a PDF page as PNG and the boxes of a passage on it."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

import httpx
import pypdfium2 as pdfium
import pytest
from tests.support import FIXTURES, Server
from tests.web.conftest import ANSWER_PAGE, PDF, QUESTION, upload_pdf

PROBLEM = {"type", "title", "status", "code", "detail"}


@pytest.fixture(scope="module")
def client(open_server: Server) -> Iterator[httpx.Client]:
    with open_server.client() as c:
        yield c


@pytest.fixture(scope="module")
def pdf_doc(open_server: Server, client: httpx.Client) -> dict:
    return upload_pdf(client, open_server)


@pytest.fixture(scope="module")
def md_doc(open_server: Server, client: httpx.Client) -> dict:
    path = sorted((FIXTURES / "md").glob("*.md"))[0]
    return upload_pdf(client, open_server, path)


@pytest.fixture(scope="module")
def citation(client: httpx.Client, pdf_doc: dict) -> dict:
    r = client.post("/api/v1/query", json={"query": QUESTION, "filters": {"document_ids": [pdf_doc["id"]]}})
    assert r.status_code == 200, r.text
    cites = r.json()["citations"]
    assert cites and cites[0]["page"] == ANSWER_PAGE, cites
    return cites[0]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def about(size: tuple[int, int], expected: tuple[float, float]) -> bool:
    """Pixel sizes as PDFium rounds them (up or down)."""
    return all(abs(a - e) <= 1 for a, e in zip(size, expected, strict=True))


def assert_problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body.keys() >= PROBLEM and body["code"] == code


def text_in_boxes(boxes: list[dict], page_no: int) -> str:
    """The PDF's own text inside the returned rectangles (converted back to PDF points)."""
    pdf = pdfium.PdfDocument(PDF.read_bytes())
    try:
        page = pdf[page_no - 1]
        width, height = page.get_size()
        tp = page.get_textpage()
        parts = [
            tp.get_text_bounded(b["x0"] * width, (1 - b["y1"]) * height, b["x1"] * width, (1 - b["y0"]) * height)
            for b in boxes
        ]
        tp.close()
        page.close()
        return " ".join(" ".join(parts).split())
    finally:
        pdf.close()


def test_page_png(client: httpx.Client, pdf_doc: dict) -> None:
    r = client.get(f"/api/v1/documents/{pdf_doc['id']}/pages/{ANSWER_PAGE}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    width, height = png_size(r.content)
    assert about((width, height), (595.2 * 1.5, 841.92 * 1.5))  # A4 at the default scale 1.5
    assert "max-age" in r.headers["cache-control"] and r.headers["etag"]
    small = client.get(f"/api/v1/documents/{pdf_doc['id']}/pages/1", params={"scale": 0.5})
    assert about(png_size(small.content), (595.2 * 0.5, 841.92 * 0.5))
    again = client.get(f"/api/v1/documents/{pdf_doc['id']}/pages/{ANSWER_PAGE}",
                       headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_page_png_decodes(client: httpx.Client, pdf_doc: dict) -> None:
    """The hand-written PNG encoder's output is a valid image (Chromium decodes it in the e2e test; here zlib)."""
    import zlib

    data = client.get(f"/api/v1/documents/{pdf_doc['id']}/pages/2", params={"scale": 0.25}).content
    width, height = png_size(data)
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + 3 * width)
    assert set(raw[:: 1 + 3 * width]) == {0}  # filter byte of each row
    assert min(raw) < 100 < 250 < max(raw)  # some ink on white paper


@pytest.mark.parametrize("scale", ["0", "0.1", "3.5", "x"])
def test_scale_bounded(client: httpx.Client, pdf_doc: dict, scale: str) -> None:
    r = client.get(f"/api/v1/documents/{pdf_doc['id']}/pages/1", params={"scale": scale})
    assert_problem(r, 422, "validation_error")


def test_boxes_of_a_citation(client: httpx.Client, pdf_doc: dict, citation: dict) -> None:
    base = f"/api/v1/documents/{pdf_doc['id']}/pages/{ANSWER_PAGE}/boxes"
    whole = client.get(base, params={"chunk_id": citation["chunk_id"]})
    assert whole.status_code == 200, whole.text
    cited = client.get(base, params={"chunk_id": citation["chunk_id"], "start": citation["start"],
                                     "end": citation["end"]}).json()
    body = whole.json()
    assert body["page"] == ANSWER_PAGE and body["pages"] == 5 and body["width"] == 595.2
    for result in (body, cited):
        assert result["boxes"]
        for b in result["boxes"]:
            assert 0 <= b["x0"] < b["x1"] <= 1 and 0 <= b["y0"] < b["y1"] <= 1
    assert len(cited["boxes"]) < len(body["boxes"])  # the cited sentence, not the whole chunk
    inside = text_in_boxes(cited["boxes"], ANSWER_PAGE)
    assert "LaTeX gained popularity among" in inside and "academics, scientists, and engineers" in inside
    assert "Final Draft" not in inside


def test_boxes_elsewhere_are_empty(client: httpx.Client, pdf_doc: dict, citation: dict) -> None:
    r = client.get(f"/api/v1/documents/{pdf_doc['id']}/pages/1/boxes", params={"chunk_id": citation["chunk_id"]})
    assert r.status_code == 200 and r.json()["boxes"] == []


def test_boxes_of_text(client: httpx.Client, pdf_doc: dict) -> None:
    r = client.get(f"/api/v1/documents/{pdf_doc['id']}/pages/{ANSWER_PAGE}/boxes", params={"text": "LaTeX"})
    boxes = r.json()["boxes"]
    assert len(boxes) == 2  # "Tools like LaTeX gained…" and "…word processors, LaTeX focuses…"
    assert all("LaTeX" in text_in_boxes([b], ANSWER_PAGE) for b in boxes)


def test_offsets_outside_the_chunk(client: httpx.Client, pdf_doc: dict, citation: dict) -> None:
    r = client.get(f"/api/v1/documents/{pdf_doc['id']}/pages/{ANSWER_PAGE}/boxes",
                   params={"chunk_id": citation["chunk_id"], "start": 0, "end": 1})
    assert_problem(r, 400, "bad_request")


def test_rotated_page(client: httpx.Client, open_server: Server, pdf_doc: dict) -> None:
    """Boxes follow the page's /Rotate: on a page turned 90° clockwise, (x, y) becomes (1 - y, x)."""
    pdf = pdfium.PdfDocument(PDF.read_bytes())
    pdf[ANSWER_PAGE - 1].set_rotation(90)
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    r = client.post("/api/v1/documents/upload", files=[("file", ("rotated.pdf", buf.getvalue()))])
    rotated_id = r.json()["documents"][0]["id"]
    assert open_server.wait_done(client, [rotated_id])[rotated_id]["status"] == "indexed"
    image = client.get(f"/api/v1/documents/{rotated_id}/pages/{ANSWER_PAGE}", params={"scale": 1})
    assert about(png_size(image.content), (841.92, 595.2))  # landscape now
    params = {"text": "Tools like LaTeX gained popularity"}
    upright = client.get(f"/api/v1/documents/{pdf_doc['id']}/pages/{ANSWER_PAGE}/boxes", params=params).json()
    turned = client.get(f"/api/v1/documents/{rotated_id}/pages/{ANSWER_PAGE}/boxes", params=params).json()
    assert turned["rotation"] == 90 and len(turned["boxes"]) == len(upright["boxes"]) == 1
    u, t = upright["boxes"][0], turned["boxes"][0]
    assert t["x0"] == pytest.approx(1 - u["y1"], abs=1e-4) and t["x1"] == pytest.approx(1 - u["y0"], abs=1e-4)
    assert t["y0"] == pytest.approx(u["x0"], abs=1e-4) and t["y1"] == pytest.approx(u["x1"], abs=1e-4)


def test_not_found(client: httpx.Client, pdf_doc: dict, md_doc: dict) -> None:
    doc = pdf_doc["id"]
    assert_problem(client.get("/api/v1/documents/d_nope/pages/1"), 404, "document_not_found")
    assert_problem(client.get("/api/v1/documents/d_nope/pages/1/boxes", params={"text": "x"}), 404,
                   "document_not_found")
    for page in (0, 6, 1000):
        assert_problem(client.get(f"/api/v1/documents/{doc}/pages/{page}"), 404, "page_not_found")
        assert_problem(client.get(f"/api/v1/documents/{doc}/pages/{page}/boxes", params={"text": "x"}), 404,
                       "page_not_found")
    assert_problem(client.get(f"/api/v1/documents/{doc}/pages/1/boxes", params={"chunk_id": "d_nope:1"}), 404,
                   "chunk_not_found")
    hits = client.post("/api/v1/query", json={"query": "the", "answer": False,
                                              "filters": {"document_ids": [md_doc["id"]]}}).json()["results"]
    other_chunk = hits[0]["chunk_id"]  # a real chunk, of another document
    assert_problem(client.get(f"/api/v1/documents/{doc}/pages/1/boxes", params={"chunk_id": other_chunk}), 404,
                   "chunk_not_found")
    assert_problem(client.get(f"/api/v1/documents/{doc}/pages/one"), 422, "validation_error")


def test_not_a_pdf(client: httpx.Client, md_doc: dict) -> None:
    assert_problem(client.get(f"/api/v1/documents/{md_doc['id']}/pages/1"), 415, "document_not_pdf")
    assert_problem(client.get(f"/api/v1/documents/{md_doc['id']}/pages/1/boxes", params={"text": "a"}), 415,
                   "document_not_pdf")
