"""Every real-world fixture loads (keeping the Block contract) or fails with a specific DocumentError."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.ingest.loaders._loader_testdata import FIXTURES, assert_offsets, fixture_files

from ragd.errors import DocumentCorrupt, DocumentEmpty, DocumentEncrypted, DocumentError, NoTextFound
from ragd.ingest.loaders import CSV, DOCX, HTML, MARKDOWN, PDF, TSV, load_document, sniff_type

EXPECTED_ERRORS: dict[str, type[DocumentError]] = {
    "pdf/password-example.pdf": DocumentEncrypted,
    "pdf/2206.01062_pg3-password-1234.pdf": DocumentEncrypted,
    "pdf/libreoffice-writer-password.pdf": DocumentEncrypted,
    "pdf/empty.pdf": DocumentEmpty,
    # Its last trailer has no /Root; PDFium refuses it ("data format error"), and we say so.
    "pdf/unreadablemetadata.pdf": DocumentCorrupt,
    "pdf/table-multi-row-column-cells.pdf": NoTextFound,  # the table is an image
    "pdf-fr/francais-scanned.pdf": NoTextFound,
    **{
        f"pdf-scanned/{name}": NoTextFound
        for name in (
            "c02-22.pdf",
            "cardinal.pdf",
            "ccitt.pdf",
            "imagemagick-CCITTFaxDecode.pdf",
            "nemotron_multipage.pdf",
            "ocr_test.pdf",
            "ocr_test_rotated_90.pdf",
            "skew.pdf",
        )
    },
}


FOLDER_TYPES = {"pdf": PDF, "pdf-fr": PDF, "pdf-scanned": PDF, "docx": DOCX, "html": HTML, "md": MARKDOWN}


def _rel(path: Path) -> str:
    return path.relative_to(FIXTURES).as_posix()


def test_fixtures_are_present() -> None:
    files = fixture_files()
    assert len(files) >= 95
    assert set(EXPECTED_ERRORS) <= {_rel(p) for p in files}


@pytest.mark.parametrize("path", fixture_files(), ids=_rel)
def test_fixture_loads_or_fails_cleanly(path: Path) -> None:
    data = path.read_bytes()
    folder = path.parent.name
    expected_type = TSV if path.suffix == ".tsv" else FOLDER_TYPES.get(folder, CSV)
    assert sniff_type(data, path.name) == expected_type
    started = time.perf_counter()
    try:
        doc = load_document(data, path.name)
    except DocumentError as exc:
        expected = EXPECTED_ERRORS.get(_rel(path))
        assert expected is not None, f"unexpected {type(exc).__name__}: {exc.detail}"
        assert isinstance(exc, expected), f"{type(exc).__name__}: {exc.detail}"
        assert exc.detail and len(exc.detail) > 15
        return
    elapsed = time.perf_counter() - started
    assert _rel(path) not in EXPECTED_ERRORS, (
        f"should have failed with {EXPECTED_ERRORS[_rel(path)].__name__}"
    )
    assert_offsets(doc)
    assert doc.mime == sniff_type(data, path.name)
    if doc.mime == PDF:
        assert doc.pages is not None and doc.pages >= 1
        assert all(b.page is not None and 1 <= b.page <= doc.pages for b in doc.blocks)
        assert [b.page for b in doc.blocks] == sorted(b.page for b in doc.blocks)  # type: ignore[type-var]
    else:
        assert doc.pages is None and all(b.page is None for b in doc.blocks)
    assert elapsed < 15, f"{path.name} took {elapsed:.1f} s"


def test_scanned_reason_names_the_pages() -> None:
    with pytest.raises(NoTextFound, match=r"no text layer on any of the 4 pages \(scanned document\?\); OCR"):
        load_document((FIXTURES / "pdf-scanned/nemotron_multipage.pdf").read_bytes(), "n.pdf")


def test_partly_scanned_pdf_lists_pages_without_text() -> None:
    doc = load_document((FIXTURES / "pdf-scanned/multipage.pdf").read_bytes(), "multipage.pdf")
    assert doc.pages == 6
    assert doc.metadata["pages_without_text"] == [1, 2, 3, 5, 6]


def test_619_page_pdf_is_fast() -> None:
    started = time.perf_counter()
    doc = load_document((FIXTURES / "pdf/DA-619p.pdf").read_bytes(), "DA-619p.pdf")
    elapsed = time.perf_counter() - started
    assert doc.pages == 619
    assert {b.page for b in doc.blocks} >= {1, 300, 619}
    assert elapsed < 8, f"619 pages took {elapsed:.2f} s"
