"""Page images and PDFs whose text exists only as pixels, drawn with Pillow and a Debian font (fonts-dejavu-core)
at 300 dpi, for the OCR tests."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont
from tests.ingest.loaders._loader_testdata import FIXTURES

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TEXT_PDF = FIXTURES / "pdf/2305.03393v1-pg9.pdf"  # one page with a text layer


def text_image(lines: Sequence[str], width: int = 1800, size: int = 42) -> Image.Image:
    """Black text on white, ``size`` px high (about 10 pt at 300 dpi), one line each."""
    font = ImageFont.truetype(FONT, size)
    line_h = int(size * 1.5)
    image = Image.new("L", (width, 2 * size + line_h * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size + i * line_h), line, font=font, fill=0)
    return image


def image_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, dpi=(300, 300), **options)
    return buf.getvalue()


def tiff_pages(pages: Sequence[Image.Image]) -> bytes:
    buf = io.BytesIO()
    pages[0].save(
        buf, format="TIFF", save_all=True, append_images=list(pages[1:]), dpi=(300, 300), compression="tiff_deflate"
    )
    return buf.getvalue()


def image_pdf(image: Image.Image) -> bytes:
    """A one-page PDF holding only ``image`` (a scan: no text layer)."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PDF", resolution=300.0)
    return buf.getvalue()


def mixed_pdf(image: Image.Image) -> bytes:
    """Page 1: a real text layer (a fixture page); page 2: ``image`` only."""
    pdf = pdfium.PdfDocument(TEXT_PDF.read_bytes())
    scan = pdfium.PdfDocument(image_pdf(image))
    pdf.import_pages(scan)
    buf = io.BytesIO()
    pdf.save(buf)
    scan.close()
    pdf.close()
    return buf.getvalue()


def png_header_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid PNG header announcing ``width``×``height`` grey pixels (900 MP), with a tiny IDAT: decoding it
    would need the whole canvas; reading its header costs nothing."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def giant_page_pdf(points: float = 14_400.0) -> bytes:
    """One blank page ``points`` wide and high (200 in square at the PDF maximum): no text layer, so OCR would
    render it at 300 dpi to 3.7 gigapixels."""
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(points, points).close()
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    return buf.getvalue()
