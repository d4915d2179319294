"""Content sniffing: the bytes decide; the name only chooses among text types."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from tests.ingest.loaders._loader_testdata import FIXTURES

from ragd.errors import UnsupportedMediaType
from ragd.ingest.loaders import CSV, DOCX, HTML, MARKDOWN, PDF, TEXT, TSV, XLSX, load_document, sniff_type
from ragd.ingest.loaders.detect import normalize_mime

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_pdf_is_sniffed_whatever_its_name() -> None:
    data = (FIXTURES / "pdf/multi_page.pdf").read_bytes()
    assert sniff_type(data, "x.txt") == PDF
    assert sniff_type(data, "") == PDF
    assert load_document(data, "x.txt").pages == 5


def test_docx_is_sniffed_from_the_zip_content() -> None:
    data = (FIXTURES / "docx/word_tables.docx").read_bytes()
    assert sniff_type(data, "report.zip") == DOCX
    assert sniff_type(data, "notes.md") == DOCX


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "photo.gif"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "photo.pdf"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(64), "notes.txt"),
        (b"\x1f\x8b\x08\x00" + os.urandom(64), "data.csv.gz"),
        (os.urandom(4096) + b"\x00\x01\x02", "blob.bin"),
    ],
)
def test_binary_content_is_rejected(data: bytes, name: str) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        sniff_type(data, name)
    assert "not a supported document type" in info.value.detail


def test_images_for_ocr_are_sniffed_by_content() -> None:
    assert sniff_type(PNG, "photo.pdf") == "image/png"
    assert sniff_type(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "scan.txt") == "image/jpeg"
    assert sniff_type(b"II*\x00" + bytes(16), "scan") == sniff_type(b"MM\x00*" + bytes(16), "") == "image/tiff"


def test_a_zip_without_word_document_is_rejected() -> None:
    data = _zip({"readme.txt": b"hello", "data/values.csv": b"a,b\n1,2\n"})
    with pytest.raises(UnsupportedMediaType, match=r"zip archive is not a supported.*DOCX, PPTX, XLSX"):
        sniff_type(data, "archive.docx")
    xlsx = _zip({"xl/workbook.xml": b"<workbook/>", "[Content_Types].xml": b"<Types/>"})
    assert sniff_type(xlsx, "book.zip") == XLSX  # the main part's name when [Content_Types].xml says nothing


def test_unknown_ole2_file_is_rejected() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    with pytest.raises(UnsupportedMediaType, match=r"OLE2 compound file"):
        sniff_type(ole, "old.doc")


def test_encrypted_ooxml_container_is_routed_to_docx() -> None:
    ole = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200) + "EncryptedPackage".encode("utf-16-le") + bytes(100)
    )
    assert sniff_type(ole, "secret.docx") == DOCX


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.md", MARKDOWN),
        ("a.markdown", MARKDOWN),
        ("a.csv", CSV),
        ("a.tsv", TSV),
        ("a.txt", TEXT),
        ("a", TEXT),
        ("a.log", TEXT),
    ],
)
def test_text_types_follow_the_name(name: str, expected: str) -> None:
    assert sniff_type(b"# Title\n\nsome, words; here\n", name) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body><p>x</p></body></html>",
        b"\n  <html lang='en'><head><title>t</title></head></html>",
        b"<?xml version='1.0'?>\n<!-- c --><html xmlns='http://www.w3.org/1999/xhtml'></html>",
        b"<div><p>fragment</p><p>two</p></div>",
    ],
)
def test_html_is_sniffed_from_markup(data: bytes) -> None:
    assert sniff_type(data, "page.txt") == HTML


def test_markdown_with_inline_html_stays_markdown() -> None:
    assert sniff_type(b"<div>intro</div>\n\n# Title\n\ntext <p>x</p>\n", "readme.md") == MARKDOWN
    assert sniff_type(b"plain words, with < signs > here", "a.html") == HTML


def test_utf16_text_without_bom_is_text() -> None:
    assert sniff_type("hello, world\nsecond line\n".encode("utf-16-le"), "a.txt") == TEXT


def test_empty_data_uses_the_extension() -> None:
    assert sniff_type(b"", "empty.pdf") == PDF
    assert sniff_type(b"", "empty.csv") == CSV
    assert sniff_type(b"", "empty.gif") == TEXT
    assert sniff_type(b"", "") == TEXT


def test_mime_normalisation_and_unknown_mime() -> None:
    assert normalize_mime("Text/CSV; charset=utf-8") == CSV
    assert normalize_mime("text/x-markdown") == MARKDOWN
    with pytest.raises(UnsupportedMediaType, match="no loader"):
        load_document(b"abc", "a.bin", mime="application/octet-stream")
