"""Office formats through the HTTP API of a real `ragd serve`: a slide deck and a workbook are indexed and cited
by slide (page) and sheet (heading); a legacy .doc is refused at upload with the conversion to make."""

from __future__ import annotations

import httpx
from tests.ingest.loaders._office_testdata import ole2
from tests.ingest.loaders.test_pptx import build_pptx
from tests.ingest.loaders.test_xlsx import build_xlsx
from tests.support import Server

COLLECTION = "office-formats"


def _ask(client: httpx.Client, question: str) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/query", json={"query": question, "top_k": 3, "filters": {"collection": COLLECTION}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["found"], body
    return body


def test_pptx_and_xlsx_answers_cite_slide_and_sheet(extractive_server: Server, ext: httpx.Client) -> None:
    files = [("file", ("deck.pptx", build_pptx())), ("file", ("budget.xlsx", build_xlsx()))]
    r = ext.post("/api/v1/documents/upload", files=files, data={"collection": COLLECTION})
    assert r.status_code == 201, r.text
    uploaded = r.json()["documents"]
    assert [d["mime"] for d in uploaded] == [
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    docs = extractive_server.wait_done(ext, [d["id"] for d in uploaded], timeout=120)
    assert all(d["status"] == "indexed" for d in docs.values()), docs

    # (the extractive generator answers with sentences: a slide's unpunctuated bullets are labels to it)
    slide = _ask(ext, "When does the public beta of the sync feature start?")["citations"][0]
    assert slide["filename"] == "deck.pptx" and slide["page"] == 1, slide
    assert slide["heading_path"] == ["Slide 1: Roadmap"] and "starts in March" in slide["text"]

    sheet = _ask(ext, "How much do the laptops cost?")["citations"][0]
    assert sheet["filename"] == "budget.xlsx" and sheet["heading_path"] == ["Budget"]
    assert "| Laptops | 1200 |" in sheet["text"]

    only = {"collection": COLLECTION, "file_types": ["xlsx"]}
    r = ext.post("/api/v1/query", json={"query": "slide roadmap costs", "top_k": 5, "filters": only})
    assert r.status_code == 200, r.text
    assert {hit["filename"] for hit in r.json()["results"]} == {"budget.xlsx"}


def test_legacy_doc_upload_is_refused_with_the_conversion(ext: httpx.Client) -> None:
    doc = ole2({"WordDocument": b"\xec\xa5", "1Table": b""})
    r = ext.post("/api/v1/documents/upload", files=[("file", ("minutes.doc", doc))], data={"collection": COLLECTION})
    assert r.status_code == 415, r.text
    problem = r.json()
    assert problem["code"] == "legacy_format" and "soffice --headless --convert-to docx" in problem["detail"]
