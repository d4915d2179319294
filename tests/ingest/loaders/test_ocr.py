"""OCR in the loaders: scanned fixtures, a mixed PDF, images (multi-page TIFF), and every way OCR can be refused —
switched off, Tesseract or a language missing, an OCR bomb, the time limit. Each OCR'd page costs about a second:
the pages here are few and small."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from PIL import Image
from tests.ingest.loaders._loader_testdata import FIXTURES
from tests.ingest.loaders._ocr_testdata import (
    TEXT_PDF,
    giant_page_pdf,
    image_bytes,
    mixed_pdf,
    png_header_bomb,
    text_image,
    tiff_pages,
)

from ragd.errors import ImageTooLarge, NoTextFound, OcrTimeout, OcrUnavailable
from ragd.ingest.loaders import JPEG, PNG, TIFF, load_document, sniff_type
from ragd.ingest.ocr_config import OcrConfig

OCR = OcrConfig()
WORDS = ["The lighthouse keeper of Brisquet", "counts four hundred gulls every morning."]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pdf-scanned/ocr_test.pdf", "Docling bundles PDF document conversion to JSON and Markdown"),
        # scanned sideways: Tesseract's orientation detection turns it upright, the boxes stay on the page as shown
        ("pdf-scanned/ocr_test_rotated_90.pdf", "Docling bundles PDF document conversion to JSON and Markdown"),
        ("pdf-fr/francais-scanned.pdf", "Portez ce vieux whisky au juge blond qui fume sur son île"),
    ],
)
def test_scanned_fixture_is_read_with_its_page(name: str, expected: str) -> None:
    doc = load_document((FIXTURES / name).read_bytes(), name, ocr=OCR)
    assert expected in _flat(doc.text)
    assert {b.page for b in doc.blocks} == {1}
    ocr = doc.metadata["ocr"]
    assert ocr["pages"] == [1] and ocr["languages"] == "fra+eng"
    words = ocr["boxes"][1]
    assert len(words) > 10
    for _text, x0, y0, x1, y1 in words:
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1


def test_mixed_pdf_keeps_the_text_layer_and_reads_the_scanned_page() -> None:
    calls: list[str] = []  # on_ocr: the pipeline's "ocr" status, once, only when a page needs OCR
    load_document(TEXT_PDF.read_bytes(), "text.pdf", ocr=OCR, on_ocr=lambda: calls.append("text"))
    doc = load_document(mixed_pdf(text_image(WORDS)), "mixed.pdf", ocr=OCR, on_ocr=lambda: calls.append("mixed"))
    assert calls == ["mixed"]
    assert doc.pages == 2
    by_page = {p: _flat(" ".join(b.text for b in doc.blocks if b.page == p)) for p in (1, 2)}
    assert "Optimized Table Tokenization" in by_page[1]
    assert "lighthouse keeper of Brisquet counts four hundred gulls" in by_page[2]
    assert doc.metadata["ocr"]["pages"] == [2]  # the page with a text layer is not OCR'd
    words = [w[0] for w in doc.metadata["ocr"]["boxes"][2]]
    assert "Brisquet" in words and "gulls" in words


def test_multipage_tiff_is_one_page_per_frame() -> None:
    data = tiff_pages([text_image(WORDS[:1]), text_image(["Le phare compte les mouettes à l'aube."])])
    assert sniff_type(data, "scan.bin") == TIFF
    doc = load_document(data, "scan.tif", mime=TIFF, ocr=OCR)
    assert doc.pages == 2 and doc.mime == TIFF
    pages = {b.page: _flat(b.text) for b in doc.blocks}
    assert "lighthouse keeper of Brisquet" in pages[1]
    assert "phare compte les mouettes" in pages[2]


def test_tiff_whose_frame_chain_loops_is_read_once() -> None:
    data = bytearray(tiff_pages([Image.new("L", (40, 40), 255)]))
    first = struct.unpack("<I", data[4:8])[0]
    entries = struct.unpack("<H", data[first : first + 2])[0]
    end = first + 2 + 12 * entries
    data[end : end + 4] = struct.pack("<I", first)  # the next frame is the first one again
    with pytest.raises(NoTextFound, match=r"1 frame"):
        load_document(bytes(data), "loop.tif", ocr=OCR, max_pages=10)


def test_png_and_jpeg_are_sniffed_by_content() -> None:
    image = text_image(["x"], width=200)
    assert sniff_type(image_bytes(image, "PNG"), "photo.txt") == PNG
    assert sniff_type(image_bytes(image, "JPEG", quality=90), "noname") == JPEG


def test_ocr_off_scan_fails_no_text_found_and_image_says_ocr_is_off() -> None:
    off = OcrConfig(enabled=False)
    with pytest.raises(NoTextFound, match="OCR is off"):
        load_document((FIXTURES / "pdf-scanned/ocr_test.pdf").read_bytes(), "s.pdf", ocr=off)
    with pytest.raises(OcrUnavailable, match="OCR is off"):
        load_document(image_bytes(text_image(WORDS), "PNG"), "p.png", ocr=off)


def test_missing_language_data_names_the_debian_package(tmp_path: Path) -> None:
    empty = tmp_path / "tessdata"
    empty.mkdir()
    with pytest.raises(OcrUnavailable, match="tesseract-ocr-fra tesseract-ocr-eng") as info:
        load_document(image_bytes(text_image(WORDS), "PNG"), "p.png", ocr=OcrConfig(tessdata_dir=str(empty)))
    assert info.value.code == "ocr_unavailable" and getattr(info.value, "step", None) == "ocr"


def test_missing_tesseract_program_is_ocr_unavailable(tmp_path: Path) -> None:
    config = OcrConfig(tesseract_cmd=str(tmp_path / "no-such-tesseract"))
    with pytest.raises(OcrUnavailable, match="apt-get install tesseract-ocr"):
        load_document((FIXTURES / "pdf-scanned/ocr_test.pdf").read_bytes(), "s.pdf", ocr=config)


@pytest.mark.parametrize("side", [10_000, 30_000])  # over ocr.max_pixels; over Pillow's own bomb limit too
def test_png_bomb_is_refused_from_its_header(side: int) -> None:
    with pytest.raises(ImageTooLarge, match="RAGD_OCR__MAX_PIXELS") as info:
        load_document(png_header_bomb(side, side), "bomb.png", ocr=OCR)
    assert info.value.code == "image_too_large"


def test_gigantic_pdf_page_is_refused_before_rendering() -> None:
    with pytest.raises(ImageTooLarge, match="14400×14400 pt"):
        load_document(giant_page_pdf(), "giant.pdf", ocr=OCR)


def test_time_limit_is_ocr_timeout() -> None:
    page = text_image(WORDS * 20, width=2400)
    with pytest.raises(OcrTimeout, match="RAGD_OCR__TIMEOUT_S") as info:
        load_document(image_bytes(page, "PNG"), "slow.png", ocr=OcrConfig(timeout_s=0.05))
    assert info.value.code == "ocr_timeout"
