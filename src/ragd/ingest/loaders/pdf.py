"""PDF loader: pypdfium2's text layer, page by page, split into paragraphs from the line layout."""

from __future__ import annotations

import re
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ragd.errors import DocumentCorrupt, DocumentEmpty, DocumentEncrypted, NoTextFound, TooManyPages
from ragd.ingest.ocr import OcrRun
from ragd.ingest.ocr_config import OcrConfig
from ragd.models import ParsedDocument

from ._build import DocBuilder, clean_controls
from ._pdf_ocr import render_page
from .detect import PDF
from .pdf_flow import line_tables, page_flow
from .pdf_tables import PdfTable, find_tables

# PDFium is not thread-safe: one document operation at a time in this process.
PDFIUM_LOCK = threading.RLock()
# Below this share of letters and digits among non-space characters a text layer is unreadable garbage.
_MIN_READABLE = 0.5
_REPEATS = re.compile(r"(\S)(?:\s?\1){2,}")


@dataclass(slots=True)
class _Line:
    text: str
    bottom: float
    height: float


def open_pdf(data: bytes) -> pdfium.PdfDocument:
    if not data.strip():
        raise DocumentEmpty("the PDF file is empty (0 bytes)")
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code == pdfium_c.FPDF_ERR_PASSWORD:
            raise DocumentEncrypted(
                "the PDF is password-protected; remove the password and upload it again"
            ) from exc
        if code == pdfium_c.FPDF_ERR_SECURITY:
            raise DocumentEncrypted("the PDF uses an unsupported encryption (security handler)") from exc
        if code == pdfium_c.FPDF_ERR_FORMAT:
            raise DocumentCorrupt("not a readable PDF: PDFium reports a data format error") from exc
        raise DocumentCorrupt(f"the PDF could not be opened: {exc}") from exc
    except Exception as exc:
        raise DocumentCorrupt(f"the PDF could not be opened: {exc}") from exc


def count_pdf_pages(data: bytes) -> int:
    """The number of pages, opening the document only (no text extraction)."""
    with PDFIUM_LOCK:
        doc = open_pdf(data)
        try:
            return len(doc)
        finally:
            doc.close()


def _clean(text: str) -> str:
    # PDFium marks a hyphen at a line break as U+0002 / U+FFFE.
    return clean_controls(text.replace("\x02", "-").replace("\ufffe", "-").replace("\r", ""))


def _page_lines(textpage: pdfium.PdfTextPage, raw: str, with_layout: bool) -> list[_Line | None]:
    """Lines of one page with the baseline and height of their first glyph; ``None`` for a blank line."""
    lines: list[_Line | None] = []
    pos = 0
    for piece in raw.split("\r\n"):
        start = pos
        pos += len(piece) + 2
        text = _clean(piece).rstrip()
        if not text.strip():
            lines.append(None)
            continue
        bottom = height = 0.0
        if with_layout:
            first = start + (len(piece) - len(piece.lstrip()))
            try:
                _left, bottom, _right, top = textpage.get_charbox(first, loose=True)
                height = top - bottom
            except Exception:
                bottom = height = 0.0
        lines.append(_Line(text, bottom, height))
    return lines


def _paragraphs(lines: list[_Line | None], with_layout: bool) -> list[str]:
    gaps = []
    if with_layout:
        prev = None
        for line in lines:
            if line is not None and prev is not None:
                gap = prev.bottom - line.bottom
                if 0.3 * line.height < gap < 4 * line.height:
                    gaps.append(gap)
            prev = line
    usual = statistics.median(gaps) if gaps else 0.0
    paras: list[list[str]] = [[]]
    prev = None
    for line in lines:
        if line is None:
            if paras[-1]:
                paras.append([])
            prev = None
            continue
        if prev is not None and with_layout and paras[-1]:
            gap = prev.bottom - line.bottom
            taller = max(prev.height, line.height)
            size_change = taller > 0 and abs(prev.height - line.height) / taller > 0.2
            moved_up = gap < -0.5 * taller
            wide_gap = usual > 0 and gap > 1.5 * usual
            if size_change or moved_up or wide_gap:
                paras.append([])
        paras[-1].append(line.text)
        prev = line
    return ["\n".join(p) for p in paras if p]


_HEADING_WORD = re.compile(r"^[\w'’&/()\-–:,.]+$")


def _looks_like_heading(para: str, following: str) -> bool:
    """A PDF has no heading markup: a short single line of words, not ending like a sentence, followed by a
    clearly longer paragraph, is taken for a heading (it then starts a chunk and enters the heading path)."""
    if "\n" in para or len(para) > 90 or len(following) < max(80, 2 * len(para)):
        return False
    words = para.split()
    if not 1 <= len(words) <= 12 or para[-1] in ".,;:!?" or para[0] in "•-–*·":
        return False
    if not (para[0].isupper() or para[0].isdigit()):
        return False
    alpha = sum(1 for w in words if _HEADING_WORD.match(w) and any(c.isalpha() for c in w))
    return alpha >= 0.7 * len(words)


def _readable_share(text: str) -> float:
    """Share of letters and digits among visible characters (dot leaders and rules count once)."""
    visible = [c for c in _REPEATS.sub(r"\1", text) if not c.isspace()]
    if not visible:
        return 0.0
    good = sum(1 for c in visible if c.isalnum() and c != "\ufffd")
    return good / len(visible)


def _metadata_title(doc: pdfium.PdfDocument) -> str | None:
    try:
        title = (doc.get_metadata_dict().get("Title") or "").strip()
    except Exception:
        return None
    return " ".join(title.split()) or None


def load_pdf(
    data: bytes, filename: str, *, max_pages: int | None = None, ocr: OcrConfig | None = None,
    on_ocr: Callable[[], None] | None = None,
) -> ParsedDocument:
    """Text of every page as paragraph blocks carrying their page number. PDFium's lock is held a page at a time,
    so a long document never makes the page images of the web UI wait for its whole parse. With ``ocr`` enabled,
    pages without a readable text layer are OCR'd (:mod:`ragd.ingest.ocr`)."""
    with PDFIUM_LOCK:
        doc = open_pdf(data)
    try:
        return _extract(doc, max_pages, OcrRun(ocr, on_start=on_ocr) if ocr is not None and ocr.enabled else None)
    finally:
        with PDFIUM_LOCK:
            doc.close()


def _extract(doc: pdfium.PdfDocument, max_pages: int | None, ocr: OcrRun | None) -> ParsedDocument:
    with PDFIUM_LOCK:
        n_pages = len(doc)
    if n_pages == 0:
        raise DocumentEmpty("the PDF has no pages")
    if max_pages is not None and n_pages > max_pages:
        raise TooManyPages(f"the PDF has {n_pages} pages; the limit is {max_pages}")
    builder = DocBuilder(PDF)
    unreadable: list[int] = []
    without_text: list[int] = []
    sample: list[str] = []
    for index in range(n_pages):
        page_no = index + 1
        with PDFIUM_LOCK:
            try:
                page = doc[index]
                textpage = page.get_textpage()
            except Exception:
                unreadable.append(page_no)
                continue
            try:
                raw = textpage.get_text_range()
                with_layout = len(raw) == textpage.count_chars()
                lines = _page_lines(textpage, raw, with_layout)
                tables = find_tables(textpage, raw) if with_layout else []
                owners = line_tables(textpage, raw, tables) if tables else [None] * len(lines)
            except Exception:
                unreadable.append(page_no)
                continue
            finally:
                textpage.close()
                page.close()
        before = len(builder.blocks)
        scanned = _ocr_if_unreadable(doc, index, ocr, lines, with_layout) if ocr is not None and not tables else None
        if scanned is not None:
            _add_paragraphs(builder, scanned, page_no, sample)
        for segment in page_flow(lines, owners, tables) if scanned is None else ():
            if isinstance(segment, PdfTable):
                builder.table(segment.rows, page=page_no)
                if len(sample) < 200:
                    sample.append(" ".join(" ".join(row) for row in segment.rows))
                continue
            _add_paragraphs(builder, _paragraphs(segment, with_layout), page_no, sample)
        if len(builder.blocks) == before:
            without_text.append(page_no)
    if not builder.blocks:
        if unreadable and len(unreadable) == n_pages:
            raise DocumentCorrupt(f"none of the {n_pages} pages could be read")
        if ocr is not None:
            raise NoTextFound(f"no text layer on any of the {n_pages} pages, and OCR found no text on them")
        raise NoTextFound(
            f"no text layer on any of the {n_pages} pages (scanned document?); OCR is off (RAGD_OCR__ENABLED)"
        )
    share = _readable_share("".join(sample))
    if share < _MIN_READABLE:
        raise NoTextFound(
            f"the text layer is unreadable ({share:.0%} letters or digits): its fonts have no Unicode "
            + ("mapping; OCR is off (RAGD_OCR__ENABLED)" if ocr is None else "mapping, and OCR read no better")
        )
    metadata: dict[str, object] = {}
    if unreadable:
        metadata["unreadable_pages"] = unreadable
    if without_text:
        metadata["pages_without_text"] = without_text  # candidates for OCR
    if ocr is not None and ocr.pages:
        metadata["ocr"] = ocr.metadata()
    with PDFIUM_LOCK:
        title = _metadata_title(doc)
    return builder.build(pages=n_pages, title=title, metadata=metadata)


def _ocr_page(doc: pdfium.PdfDocument, index: int, ocr: OcrRun) -> list[str]:
    """The paragraphs Tesseract reads on page ``index`` (PDFium's lock only while the page is rendered)."""
    if not ocr.pages:
        ocr.require()
    with PDFIUM_LOCK:
        png, dpi = render_page(doc, index, ocr)
    return [p for p in ocr.page(png, index + 1, dpi) if p.strip()]


def _add_paragraphs(builder: DocBuilder, paragraphs: list[str], page_no: int, sample: list[str]) -> None:
    for i, para in enumerate(paragraphs):
        following = paragraphs[i + 1] if i + 1 < len(paragraphs) else ""
        if _looks_like_heading(para, following):
            builder.heading(para, 2, page=page_no)
        else:
            builder.add("paragraph", para, page=page_no)
        if len(sample) < 200:
            sample.append(para)


def _ocr_if_unreadable(
    doc: pdfium.PdfDocument, index: int, ocr: OcrRun, lines: list[_Line | None], with_layout: bool
) -> list[str] | None:
    """``None`` when the page's text layer is readable; otherwise the paragraphs OCR reads on it."""
    paragraphs = _paragraphs(lines, with_layout)
    if paragraphs and _readable_share("".join(paragraphs)) >= _MIN_READABLE:
        return None
    return _ocr_page(doc, index, ocr)
