"""Issue 18's "done when": a mixed folder — a scan, a photo of a page, a PDF whose second page exists only as pixels,
a slide deck, a spreadsheet, an OpenDocument text, an e-book, an RTF memo, a mail with an attachment, a PDF with
tables, a legacy .doc and a zip bomb — synced into one collection with ``ragd sync``: every file ends indexed or
refused with its own code, and questions about text that exists only as pixels are answered citing the right page."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli.test_sync import ragd_sync
from tests.ingest.loaders._loader_testdata import FIXTURES
from tests.ingest.loaders._ocr_testdata import image_bytes, mixed_pdf, text_image
from tests.ingest.loaders._office_testdata import bomb, ole2
from tests.ingest.loaders.test_epub import build_epub
from tests.ingest.loaders.test_odf import build_odt
from tests.ingest.loaders.test_pptx import build_pptx
from tests.ingest.loaders.test_xlsx import build_xlsx
from tests.ingest.mailfiles import attach, mail

from ragd.config import Settings
from ragd.core import Ragd
from ragd.models import DocStatus, SearchFilters

SKIPPED = {"old.doc": "legacy_format", "bomb.pptx": "archive_too_large"}  # refused at upload: never stored


def mixed_folder(root: Path) -> Path:
    root.mkdir()
    (root / "scan.png").write_bytes(
        image_bytes(text_image(["The ferry to Quillan leaves", "at seven minutes past nine."]), "PNG")
    )
    (root / "photo.jpg").write_bytes(
        image_bytes(text_image(["The archive room of Tarrant", "keeps ninety boxes of maps."]), "JPEG", quality=90)
    )
    (root / "report.pdf").write_bytes(
        mixed_pdf(text_image(["The lighthouse keeper of Brisquet", "counts four hundred gulls."]))
    )
    (root / "deck.pptx").write_bytes(build_pptx())
    (root / "budget.xlsx").write_bytes(build_xlsx())
    (root / "notes.odt").write_bytes(build_odt())
    (root / "book.epub").write_bytes(build_epub())
    (root / "memo.rtf").write_text(r"{\rtf1\ansi The canteen closes at three on Fridays.\par}")
    message = attach(mail(), b"site,boilers\nnorth,4\nsouth,2\n", "figures.csv", "text/csv")
    (root / "mail.eml").write_bytes(message.as_bytes())
    shutil.copy(FIXTURES / "pdf/nics-background-checks-2015-11.pdf", root / "tables.pdf")
    (root / "old.doc").write_bytes(ole2({"WordDocument": b"\xec\xa5", "1Table": b""}))
    (root / "bomb.pptx").write_bytes(bomb(build_pptx()))
    return root


def test_a_mixed_folder_is_indexed_or_refused_file_by_file_and_pixels_answer(tmp_path: Path) -> None:
    data, root = tmp_path / "data", mixed_folder(tmp_path / "share")
    result = ragd_sync(data, str(root), "--collection", "mixed")
    out = " ".join(result.output.split())
    assert result.exit_code == 0, out
    assert "10 added, 0 updated, 0 moved, 0 deleted, 0 unchanged, 2 skipped, 0 failed" in out, out
    for name, code in SKIPPED.items():
        assert f"skipped {name}: [{code}]" in out, out

    r = Ragd(Settings(data_dir=data, ingest={"workers": 0}))
    try:
        docs = {d.filename: d for d in r.store.list_documents(collection="mixed", limit=100)[0]}
        top = {name: d for name, d in docs.items() if d.parent_id is None}
        expected = {p.name for p in root.iterdir()} - set(SKIPPED)
        assert set(top) == expected, sorted(top)
        for name, doc in top.items():
            assert doc.status is DocStatus.INDEXED, (name, doc.status, doc.error_code, doc.error)
        assert [d.filename for d in docs.values() if d.parent_id == top["mail.eml"].id] == ["figures.csv"]
        assert top["tables.pdf"].metadata.get("ocr") is None  # a text PDF is not OCR'd

        mixed = SearchFilters(collections=["mixed"])
        for question, name, page in (
            ("When does the ferry to Quillan leave?", "scan.png", 1),
            ("How many boxes of maps does the archive room of Tarrant keep?", "photo.jpg", 1),
            ("How many gulls does the lighthouse keeper of Brisquet count?", "report.pdf", 2),
        ):
            hit = r.query(question, top_k=3, filters=mixed, answer=False).retrieval.hits[0]
            assert (hit.chunk.filename, hit.chunk.page_start) == (name, page), (question, hit.chunk)
    finally:
        r.close()
