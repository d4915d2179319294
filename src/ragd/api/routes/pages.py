"""PDF pages for the citation viewer: a page rendered to PNG, and where a cited passage sits on it.

* ``GET /api/v1/documents/{doc_id}/pages/{page}?scale=`` — the page (numbered from 1) rendered by PDFium as a PNG.
  ``scale`` is pixels per PDF point (0.25–3; the image is also capped at :data:`MAX_PIXELS`).
* ``GET /api/v1/documents/{doc_id}/pages/{page}/boxes?chunk_id=[&start=&end=]`` (or ``?text=``) — the rectangles
  covering the chunk's passage (narrowed to a citation's offsets) or every occurrence of ``text`` on that page, as
  fractions of the rendered page: ``x0, y0`` top-left, ``x1, y1`` bottom-right, each within [0, 1], so a client
  overlays them on the image at any size.

Matching: the PDF loader builds the document's text from PDFium's text layer page after page, changing only
whitespace and control characters. So, once whitespace is dropped, the document text is the pages' text end to
end, and a chunk's ``start``/``end`` offsets map exactly to character indices on the page (repeated phrases are
no problem). When that check fails (a page the loader could not read, another extractor), the chunk text is
searched on the page instead (exact, else the longest matching runs). A page without a text layer (a scan, read by
OCR at ingestion) is OCR'd again and the passage searched among its words (:mod:`ragd.api.routes._ocr_boxes`).
Errors: ``document_not_found``,
``page_not_found`` and ``chunk_not_found`` (404), ``document_not_pdf`` (415), ``bad_request`` (400: offsets
outside the chunk), ``input_too_long`` (422: ``text`` longer than ``limits.boxes_max_text_chars`` or with more
words than ``limits.boxes_max_terms``). PDFium's process-wide lock is held for one page's worth of work at a time,
never while passages are matched, so one request's search never makes other users' page images wait.
"""

from __future__ import annotations

import difflib
import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from fastapi import APIRouter, Query, Request, Response

from ragd.api.deps import RagdDep, ReaderActor
from ragd.api.problems import AUTH, problems
from ragd.config import LimitsSettings
from ragd.errors import BadRequest, ChunkNotFound, DocumentError, DocumentNotPdf, InputTooLong, NotFound, PageNotFound
from ragd.ingest.loaders.pdf import PDFIUM_LOCK, open_pdf  # PDFium is not thread-safe: share the loader's lock
from ragd.ingest.ocr_config import OcrConfig
from ragd.models import Document

from ._ocr_boxes import page_words, word_chars, word_rects

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])

PDF_MIME = "application/pdf"
MAX_PIXELS = 12_000_000
_MIN_RUN = 8  # fallback matching: shorter common runs are coincidences


def _pdf_bytes(ragd: Any, doc: Document) -> bytes:
    if doc.mime != PDF_MIME:
        raise DocumentNotPdf(f"document {doc.id!r} is {doc.mime}, not a PDF: pages exist only for PDFs")
    data = ragd.ingest.original(doc.id)
    if data is None:
        raise NotFound(f"the original of {doc.id!r} is not stored")
    return data


def _page(pdf: pdfium.PdfDocument, doc_id: str, page: int) -> pdfium.PdfPage:
    n = len(pdf)
    if not 1 <= page <= n:
        raise PageNotFound(f"document {doc_id!r} has {n} page(s); there is no page {page}")
    return pdf[page - 1]


# -- PNG -----------------------------------------------------------------------------------------------------------
def encode_png(rgb: Any) -> bytes:
    """A PNG (8-bit RGB, no interlace) of an ``(height, width, 3)`` uint8 array; filter 'none' on every row."""
    height, width, _ = rgb.shape
    rows = np.ascontiguousarray(rgb, dtype=np.uint8).reshape(height, width * 3)
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(
        b"IEND", b""
    )


def render_png(data: bytes, doc_id: str, page: int, scale: float) -> bytes:
    """PNG of page ``page`` (from 1), at most :data:`MAX_PIXELS` large; ``PageNotFound`` when there is none."""
    with PDFIUM_LOCK:
        pdf = open_pdf(data)
        try:
            p = _page(pdf, doc_id, page)
            try:
                w, h = p.get_size()
                scale = min(scale, (MAX_PIXELS / max(w * h, 1.0)) ** 0.5)
                bitmap = p.render(scale=scale, rev_byteorder=True, may_draw_forms=True)
                try:
                    array = bitmap.to_numpy()[:, :, :3].copy()
                finally:
                    bitmap.close()
            finally:
                p.close()
        finally:
            pdf.close()
    return encode_png(array)


@router.get(
    "/{doc_id}/pages/{page}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The page as a PNG image."},
               **problems(*AUTH, 404, 415)},
)
def page_image(
    ragd: RagdDep,
    actor: ReaderActor,
    request: Request,
    doc_id: str,
    page: int,
    scale: Annotated[float, Query(ge=0.25, le=3.0, description="Pixels per PDF point (1 = 72 dpi).")] = 1.5,
) -> Response:
    """Page ``page`` (from 1) of a PDF document rendered to PNG; cached by the client (a document's bytes never
    change under its id)."""
    doc = ragd.readable_document(actor, doc_id)
    data = _pdf_bytes(ragd, doc)
    etag = '"' + hashlib.sha256(f"{doc.content_hash}:{page}:{scale:.3f}".encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(render_png(data, doc.id, page, scale), media_type="image/png", headers=headers)


# -- boxes ---------------------------------------------------------------------------------------------------------
def check_search_text(text: str, limits: LimitsSettings) -> None:
    """Bound the work of one ``?text=`` search (422 ``input_too_long``): its length and its number of words."""
    if len(text) > limits.boxes_max_text_chars:
        raise InputTooLong(f"text has {len(text)} characters; at most {limits.boxes_max_text_chars} are searched "
                           "(RAGD_LIMITS__BOXES_MAX_TEXT_CHARS)")
    terms = len(text.split())
    if terms > limits.boxes_max_terms:
        raise InputTooLong(f"text has {terms} words; at most {limits.boxes_max_terms} are searched "
                           "(RAGD_LIMITS__BOXES_MAX_TERMS)")


def _keep(ch: str) -> bool:
    """Characters that count when comparing the loader's text with the page: not whitespace, not control."""
    return not ch.isspace() and (ch >= " " or ch == "\x02") and ch != "\x7f"


def _norm_char(ch: str) -> str:
    return "-" if ch in ("\x02", "\ufffe") else ch


def normalize(text: str) -> str:
    """The text without whitespace and control characters, soft hyphens as ``-`` (as the PDF loader writes them)."""
    return "".join(_norm_char(c) for c in text if _keep(c))


@dataclass(slots=True)
class _PageText:
    chars: str  # normalized characters of the page
    index: list[int]  # their PDFium character indices


def _page_text(textpage: pdfium.PdfTextPage) -> _PageText:
    chars: list[str] = []
    index: list[int] = []
    for i in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
        try:
            ch = chr(code)
        except (ValueError, OverflowError):
            continue
        if _keep(ch):
            chars.append(_norm_char(ch))
            index.append(i)
    return _PageText("".join(chars), index)


def _spans_by_offsets(doc_text: str, start: int, end: int, before: int, page: _PageText) -> list[tuple[int, int]]:
    """Normalized ``[start, end)`` of the passage on this page (the caller checked the texts agree)."""
    a = len(normalize(doc_text[:start])) - before
    b = a + len(normalize(doc_text[start:end]))
    a, b = max(a, 0), min(b, len(page.chars))
    return [(a, b)] if a < b else []


def _spans_by_search(needle: str, page: _PageText, *, every: bool) -> list[tuple[int, int]]:
    """Where ``needle`` (normalized) is on the page: exact occurrences, else the longest common runs."""
    if not needle:
        return []
    spans: list[tuple[int, int]] = []
    pos = page.chars.find(needle)
    while pos >= 0:
        spans.append((pos, pos + len(needle)))
        if not every:
            return spans
        pos = page.chars.find(needle, pos + len(needle))
    if spans:
        return spans
    matcher = difflib.SequenceMatcher(None, page.chars, needle, autojunk=False)
    return [(m.a, m.a + m.size) for m in matcher.get_matching_blocks() if m.size >= _MIN_RUN]


def _rects(textpage: pdfium.PdfTextPage, indices: list[int]) -> list[tuple[float, float, float, float]]:
    """Character boxes merged into one rectangle per line: (left, bottom, right, top) in PDF points."""
    rects: list[list[float]] = []
    for i in indices:
        try:
            left, bottom, right, top = textpage.get_charbox(i, loose=True)
        except Exception:
            continue
        if right <= left or top <= bottom:
            continue
        if rects:
            r = rects[-1]
            height = max(r[3] - r[1], top - bottom)
            mid = (bottom + top) / 2
            same_line = r[1] <= mid <= r[3] and left >= r[0] - 0.5 * height and left - r[2] < 3 * height
            if same_line:
                r[0], r[1], r[2], r[3] = min(r[0], left), min(r[1], bottom), max(r[2], right), max(r[3], top)
                continue
        rects.append([left, bottom, right, top])
    return [(r[0], r[1], r[2], r[3]) for r in rects]


def _to_view(
    rect: tuple[float, float, float, float], box: tuple[float, float, float, float], rotation: int
) -> dict[str, float]:
    """PDF-point rectangle → fractions of the displayed page (top-left origin, page rotation applied)."""
    cl, cb, cr, ct = box
    w, h = max(cr - cl, 1e-6), max(ct - cb, 1e-6)
    left, bottom, right, top = rect
    u0, u1 = (left - cl) / w, (right - cl) / w  # across, from the left of the unrotated page
    v0, v1 = (ct - top) / h, (ct - bottom) / h  # down, from the top of the unrotated page
    if rotation == 90:
        u0, u1, v0, v1 = 1 - v1, 1 - v0, u0, u1
    elif rotation == 180:
        u0, u1, v0, v1 = 1 - u1, 1 - u0, 1 - v1, 1 - v0
    elif rotation == 270:
        u0, u1, v0, v1 = v0, v1, 1 - u1, 1 - u0

    def clamp(x: float) -> float:
        return round(min(max(x, 0.0), 1.0), 5)

    return {"x0": clamp(u0), "y0": clamp(v0), "x1": clamp(u1), "y1": clamp(v1)}


def _chars_before(pdf: pdfium.PdfDocument, page: int) -> int:
    """How many normalized characters the pages before ``page`` hold (the PDFium lock is taken page by page, so
    other requests' pages are rendered in between)."""
    before = 0
    for q in range(page - 1):
        with PDFIUM_LOCK:
            other = pdf[q]
            otp = other.get_textpage()
            try:
                raw = otp.get_text_range()
            finally:
                otp.close()
                other.close()
        before += len(normalize(raw))
    return before


def passage_boxes(
    data: bytes, doc_id: str, page: int, *, doc_text: str | None, start: int | None, end: int | None, text: str,
    every: bool, ocr: OcrConfig | None = None, key: str = "",
) -> dict[str, Any]:
    """Boxes of a passage on page ``page`` (``PageNotFound`` when there is none).

    A page without a text layer (a scan) is OCR'd with ``ocr`` (words cached under ``key``, the document's content
    hash) and the passage searched among its words (:mod:`ragd.api.routes._ocr_boxes`); no boxes when OCR is off
    or fails.

    ``start``/``end`` (offsets into ``doc_text``) are used when given and the text agrees with the pages;
    otherwise ``text`` is searched on the page (every occurrence when ``every``).

    PDFium is not thread-safe, so its calls hold the process-wide :data:`PDFIUM_LOCK`, but only a page's worth of
    PDFium work at a time: the matching (which may compare a long passage with a long page) runs without it.
    """
    with PDFIUM_LOCK:
        pdf = open_pdf(data)
    try:
        with PDFIUM_LOCK:
            n = len(pdf)
            p = _page(pdf, doc_id, page)
            tp = p.get_textpage()
            current = _page_text(tp)
        ocr_boxes: list[dict[str, float]] | None = None
        try:
            spans: list[tuple[int, int]] = []
            if not current.chars and ocr is not None and ocr.enabled:
                ocr_boxes = _ocr_boxes(pdf, page, key, ocr, text, every)
            elif doc_text is not None and start is not None and end is not None:
                before = _chars_before(pdf, page)
                if normalize(doc_text)[before : before + len(current.chars)] == current.chars:
                    spans = _spans_by_offsets(doc_text, start, end, before, current)
                    text = ""  # the offsets are trusted: no span means the passage is not on this page
            if not spans:
                spans = _spans_by_search(normalize(text), current, every=every)
            with PDFIUM_LOCK:
                rects = [r for a, b in spans for r in _rects(tp, current.index[a:b])]
                width, height = p.get_size()
                rotation = p.get_rotation()
                crop = p.get_cropbox()
        finally:
            with PDFIUM_LOCK:
                tp.close()
                p.close()
    finally:
        with PDFIUM_LOCK:
            pdf.close()
    return {
        "page": page,
        "pages": n,
        "width": round(width, 2),
        "height": round(height, 2),
        "rotation": rotation,
        "boxes": ocr_boxes if ocr_boxes is not None else [_to_view(r, crop, rotation) for r in rects],
    }


def _ocr_boxes(pdf: pdfium.PdfDocument, page: int, key: str, ocr: OcrConfig, text: str, every: bool
               ) -> list[dict[str, float]]:
    try:
        words = page_words(pdf, page, key, ocr)
    except DocumentError:  # OCR unavailable, timed out, page too large: nothing to highlight
        return []
    chars, index = word_chars(words, _keep)
    spans = _spans_by_search(normalize(text), _PageText(chars, index), every=every)
    return [r for a, b in spans for r in word_rects(words, index[a:b])]


@router.get("/{doc_id}/pages/{page}/boxes", responses=problems(*AUTH, 400, 404, 415))
def page_boxes(
    ragd: RagdDep,
    actor: ReaderActor,
    doc_id: str,
    page: int,
    chunk_id: Annotated[str | None, Query(max_length=200, description="Highlight this chunk's passage.")] = None,
    start: Annotated[int | None, Query(ge=0, description="With chunk_id: only the part of it from this offset of "
                                       "the document's text (a citation's start).")] = None,
    end: Annotated[int | None, Query(ge=0, description="With chunk_id: ... up to this offset (a citation's end).")]
    = None,
    text: Annotated[str | None, Query(max_length=4000, description="Or highlight every occurrence of this text.")]
    = None,
) -> dict[str, Any]:
    """Rectangles (fractions of the page, top-left origin) covering the passage on the page; ``boxes`` is empty
    when the passage is not on this page. The passage is the chunk, narrowed to ``start``..``end`` when given (a
    citation may quote one sentence of its chunk)."""
    if text is not None:
        check_search_text(text, ragd.settings.limits)
    doc = ragd.readable_document(actor, doc_id)
    data = _pdf_bytes(ragd, doc)
    doc_text = a = b = None
    needle = text or ""
    if chunk_id is not None:
        chunk = ragd.store.get_chunk(chunk_id)
        if chunk is None or chunk.document_id != doc.id:
            raise ChunkNotFound(f"document {doc.id!r} has no chunk {chunk_id!r}")
        doc_text, a, b, needle = ragd.store.get_text(doc.id), chunk.start, chunk.end, chunk.text
        if start is not None or end is not None:
            a, b = max(a, start if start is not None else a), min(b, end if end is not None else b)
            if a >= b:
                raise BadRequest(f"start..end ({start}..{end}) is outside chunk {chunk_id!r} "
                                 f"({chunk.start}..{chunk.end})")
            if doc_text is not None:
                needle = doc_text[a:b]
    out = passage_boxes(data, doc.id, page, doc_text=doc_text, start=a, end=b, text=needle, every=chunk_id is None,
                        ocr=ragd.settings.ocr.config(), key=doc.content_hash)
    return {"document_id": doc.id, "chunk_id": chunk_id, **out}
