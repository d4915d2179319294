"""Boxes of a passage on a PDF page that has no text layer: the page is OCR'd again (the same rendering and the same
Tesseract call as at ingestion, so the same words) and the passage is searched among its words.

The words of the last pages asked for are kept in memory (:data:`_CACHE`, by the document's content hash, the page
and the OCR options), so paging through the citations of one scan OCRs each page once. Word boxes are fractions of
the page as displayed (PDFium renders the page's rotation), merged into one rectangle per line.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import pypdfium2 as pdfium

from ragd.ingest.loaders._pdf_ocr import render_page
from ragd.ingest.loaders.pdf import PDFIUM_LOCK
from ragd.ingest.ocr import OcrRun, Word, check_tesseract, read_page
from ragd.ingest.ocr_config import OcrConfig

_CACHE: OrderedDict[tuple[str, int, OcrConfig], list[Word]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_PAGES = 64


def page_words(pdf: pdfium.PdfDocument, page: int, key: str, config: OcrConfig) -> list[Word]:
    """The OCR'd words of page ``page`` (from 1); OCR errors (Tesseract missing, time limit) propagate."""
    ck = (key, page, config)
    with _CACHE_LOCK:
        if ck in _CACHE:
            _CACHE.move_to_end(ck)
            return _CACHE[ck]
    check_tesseract(config)
    run = OcrRun(config)
    with PDFIUM_LOCK:
        png, dpi = render_page(pdf, page - 1, run)
    words = read_page(png, config, dpi=dpi, deadline=time.monotonic() + config.timeout_s).words
    with _CACHE_LOCK:
        _CACHE[ck] = words
        while len(_CACHE) > _CACHE_PAGES:
            _CACHE.popitem(last=False)
    return words


def word_chars(words: list[Word], keep: object) -> tuple[str, list[int]]:
    """The page's characters as the boxes route compares them (``keep`` filters them), each with its word's index."""
    chars: list[str] = []
    index: list[int] = []
    for i, w in enumerate(words):
        for ch in w.text:
            if keep(ch):  # type: ignore[operator]
                chars.append(ch)
                index.append(i)
    return "".join(chars), index


def word_rects(words: list[Word], indices: list[int]) -> list[dict[str, float]]:
    """One rectangle per line over the words at ``indices`` (in reading order, repeats ignored)."""
    rects: list[list[float]] = []
    seen: set[int] = set()
    for i in indices:
        if i in seen:
            continue
        seen.add(i)
        w = words[i]
        if rects:
            r = rects[-1]
            mid = (w.y0 + w.y1) / 2
            if r[1] <= mid <= r[3] and w.x0 >= r[0] - 0.01:
                r[0], r[1], r[2], r[3] = min(r[0], w.x0), min(r[1], w.y0), max(r[2], w.x1), max(r[3], w.y1)
                continue
        rects.append([w.x0, w.y0, w.x1, w.y1])
    return [{"x0": round(r[0], 5), "y0": round(r[1], 5), "x1": round(r[2], 5), "y1": round(r[3], 5)} for r in rects]
