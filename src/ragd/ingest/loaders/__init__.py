"""Document loaders: bytes of one file → :class:`ragd.models.ParsedDocument`.

Public surface: :func:`sniff_type`, :func:`load_document`, the :data:`LOADERS` registry (MIME type → loader)
and the MIME constants. Every failure is a :class:`ragd.errors.DocumentError` subclass (or
:class:`ragd.errors.UnsupportedMediaType` for a type we do not read); no parser exception escapes.
"""

from __future__ import annotations

from collections.abc import Callable

from ragd.errors import DocumentCorrupt, DocumentError, DocumentTooDeep, TooManyPages, UnsupportedMediaType
from ragd.ingest.ocr_config import OcrConfig
from ragd.models import ParsedDocument

from ._limits import LoaderLimits, using_limits
from .base import Loader
from .csv import load_csv, load_tsv
from .detect import (
    CSV,
    DOCX,
    EML,
    EPUB,
    HTML,
    JPEG,
    MARKDOWN,
    MSG,
    ODP,
    ODS,
    ODT,
    PDF,
    PNG,
    PPTX,
    RTF,
    SUPPORTED,
    TEXT,
    TIFF,
    TSV,
    XLSX,
    normalize_mime,
    sniff_type,
)
from .docx import load_docx
from .eml import load_eml
from .epub import load_epub
from .html import load_html
from .image import IMAGE_TYPES, count_image_frames, load_image
from .markdown import load_markdown
from .msg import load_msg
from .odp import load_odp
from .ods import load_ods
from .odt import load_odt
from .pdf import count_pdf_pages, load_pdf
from .pptx import load_pptx
from .rtf import load_rtf
from .text import load_text
from .xlsx import load_xlsx

__all__ = [
    "CSV",
    "DOCX",
    "EML",
    "EPUB",
    "HTML",
    "JPEG",
    "LOADERS",
    "MARKDOWN",
    "MSG",
    "ODP",
    "ODS",
    "ODT",
    "PAGE_COUNTERS",
    "PDF",
    "PNG",
    "PPTX",
    "RTF",
    "SUPPORTED",
    "TEXT",
    "TIFF",
    "TSV",
    "XLSX",
    "Loader",
    "LoaderLimits",
    "check_page_limit",
    "load_document",
    "sniff_type",
]

LOADERS: dict[str, Loader] = {
    PDF: load_pdf,
    DOCX: load_docx,
    HTML: load_html,
    MARKDOWN: load_markdown,
    TEXT: load_text,
    CSV: load_csv,
    TSV: load_tsv,
    EML: load_eml,
    MSG: load_msg,
    PPTX: load_pptx,
    XLSX: load_xlsx,
    ODT: load_odt,
    ODS: load_ods,
    ODP: load_odp,
    EPUB: load_epub,
    RTF: load_rtf,
    PNG: load_image,
    JPEG: load_image,
    TIFF: load_image,
}

# Types whose page count can be read cheaply before the text is extracted (to refuse early).
PAGE_COUNTERS: dict[str, Callable[[bytes], int]] = {PDF: count_pdf_pages, TIFF: count_image_frames}


def check_page_limit(data: bytes, mime: str, max_pages: int) -> None:
    """Raise ``TooManyPages`` if ``data`` (of type ``mime``) has more than ``max_pages`` pages, counted without
    extracting text (at upload). A document whose pages cannot be counted passes: its loader says why later."""
    counter = PAGE_COUNTERS.get(mime)
    if counter is None or not data:
        return
    try:
        pages = counter(data)
    except Exception:  # encrypted, corrupt…: reported with a reason when the document is parsed
        return
    if pages > max_pages:
        raise TooManyPages(f"the document has {pages} pages; the limit is {max_pages} (RAGD_INGEST__MAX_PAGES)")


def load_document(
    data: bytes,
    filename: str,
    *,
    mime: str | None = None,
    max_pages: int | None = None,
    limits: LoaderLimits | None = None,
    ocr: OcrConfig | None = None,
    on_ocr: Callable[[], None] | None = None,
) -> ParsedDocument:
    """Parse ``data`` with the loader for ``mime`` (sniffed from the content when not given).

    Raises ``UnsupportedMediaType`` for a type no loader reads, ``TooManyPages`` over ``max_pages``, and
    otherwise only ``DocumentError`` subclasses with a human reason. ``limits`` (from the ``office.*`` settings)
    bound spreadsheets and XML nesting; the defaults apply without it.
    ``ocr`` (off when ``None``) is how scanned PDF pages and images are read; ``on_ocr`` is called once when OCR
    starts (the pipeline's ``ocr`` status).
    """
    kind = normalize_mime(mime) if mime else sniff_type(data, filename)
    loader = LOADERS.get(kind)
    if loader is None:
        raise UnsupportedMediaType(f"no loader for {kind!r}; supported: {', '.join(sorted(LOADERS))}")
    try:
        counter = PAGE_COUNTERS.get(kind)
        if max_pages is not None and counter is not None and data:
            pages = counter(data)
            if pages > max_pages:
                raise TooManyPages(f"the document has {pages} pages; the limit is {max_pages}")
        with using_limits(limits):
            if kind == PDF:
                doc = load_pdf(data, filename, ocr=ocr, on_ocr=on_ocr)
            elif kind in IMAGE_TYPES:
                doc = load_image(data, filename, mime=kind, ocr=ocr, max_pages=max_pages, on_ocr=on_ocr)
            else:
                doc = loader(data, filename)
    except DocumentError:
        raise
    except RecursionError as exc:
        raise DocumentTooDeep(f"the {kind} document is nested too deeply to parse") from exc
    except MemoryError as exc:
        raise DocumentCorrupt(f"the {kind} document is too large to parse in memory") from exc
    except Exception as exc:  # a parser bug or an input it did not expect: still a clear document error
        raise DocumentCorrupt(
            f"the {kind} document could not be parsed ({type(exc).__name__}: {exc})"
        ) from exc
    if max_pages is not None and doc.pages is not None and doc.pages > max_pages:
        raise TooManyPages(f"the document has {doc.pages} pages; the limit is {max_pages}")
    return doc
