"""Text that exists only as pixels, through a real `ragd serve`: a mixed PDF (a text page, then a scanned page) is
indexed with both pages, a question about the scanned page's text is answered citing page 2, and the page viewer's
boxes highlight the passage on the scan; an OCR bomb beside it fails alone with its own code at the OCR step."""

from __future__ import annotations

from collections.abc import Callable

from tests.ingest.loaders._ocr_testdata import mixed_pdf, png_header_bomb, text_image
from tests.support import Server

SCAN = [
    "The lighthouse keeper of Brisquet counts",
    "four hundred and twelve gulls every morning",
    "before he",
    "lights the great lamp of the harbour.",
]


def test_question_about_scanned_text_cites_its_page_and_highlights_it(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory().start()
    with server.client() as client:
        files = [("file", ("mixed.pdf", mixed_pdf(text_image(SCAN)))), ("file", ("bomb.png", png_header_bomb()))]
        r = client.post("/api/v1/documents/upload", files=files)
        assert r.status_code == 201, r.text
        mixed_id, bomb_id = (d["id"] for d in r.json()["documents"])
        docs = server.wait_done(client, [mixed_id, bomb_id], timeout=300)
        assert docs[mixed_id]["status"] == "indexed", docs[mixed_id]
        assert docs[bomb_id]["status"] == "failed"
        assert (docs[bomb_id]["error_code"], docs[bomb_id]["failed_step"]) == ("image_too_large", "ocr")

        r = client.post(
            "/api/v1/query", json={"query": "How many gulls does the lighthouse keeper of Brisquet count?", "top_k": 3}
        )
        assert r.status_code == 200, r.text
        cite = r.json()["citations"][0]
        assert cite["document_id"] == mixed_id and cite["page"] == 2, cite
        assert "gulls" in cite["text"]

        r = client.get(
            f"/api/v1/documents/{mixed_id}/pages/2/boxes",
            params={"chunk_id": cite["chunk_id"], "start": cite["start"], "end": cite["end"]},
        )
        assert r.status_code == 200, r.text
        boxes = r.json()["boxes"]
        assert boxes, r.json()
        assert all(0 <= b["x0"] < b["x1"] <= 1 and 0 <= b["y0"] < b["y1"] <= 1 for b in boxes), boxes
        # one box holds the middle of the drawn line with "gulls" (text_image: 42 px text, lines 63 px apart)
        gulls_line = (42 + 63 + 21) / (2 * 42 + 63 * len(SCAN))
        assert any(b["y0"] < gulls_line < b["y1"] and b["x0"] < 0.1 for b in boxes), boxes
        assert client.get(f"/api/v1/documents/{mixed_id}/pages/2/boxes", params={"text": "Brisquet"}).json()["boxes"]
