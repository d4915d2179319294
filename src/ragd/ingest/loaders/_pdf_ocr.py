"""OCR of the PDF pages that have no readable text layer (scanned pages, in scans and in mixed PDFs)."""

from __future__ import annotations

import pypdfium2 as pdfium

from ragd.errors import ImageTooLarge
from ragd.ingest.ocr import OcrRun, check_pixels, to_png

_MIN_DPI = 100  # below this Tesseract reads body text poorly: a larger page is refused rather than misread


def render_scale(width_pt: float, height_pt: float, run: OcrRun) -> float:
    """Pixels per PDF point for OCR: ``ocr.dpi``, lowered for a page too large for ``ocr.max_pixels``;
    ``ImageTooLarge`` when even :data:`_MIN_DPI` would pass it (a gigantic page: nothing is rendered)."""
    config = run.config
    scale = config.dpi / 72
    area = max(width_pt * height_pt, 1.0)
    if area * scale * scale > config.max_pixels:
        scale = (config.max_pixels / area) ** 0.5
        if scale * 72 < _MIN_DPI:
            w, h = round(width_pt * _MIN_DPI / 72), round(height_pt * _MIN_DPI / 72)
            check_pixels(w, h, config, f"the page ({width_pt:.0f}×{height_pt:.0f} pt) at {_MIN_DPI} dpi")
            raise ImageTooLarge(f"the page is {width_pt:.0f}×{height_pt:.0f} pt: too large to OCR")
    return scale


def render_page(doc: pdfium.PdfDocument, index: int, run: OcrRun) -> tuple[bytes, int]:
    """Page ``index`` as a grey PNG for OCR, and its resolution in dpi. The caller holds PDFium's lock."""
    page = doc[index]
    try:
        width, height = page.get_size()
        scale = render_scale(width, height, run)
        bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=True)
        try:
            image = bitmap.to_pil()
        finally:
            bitmap.close()
    finally:
        page.close()
    return to_png(image), round(scale * 72)
