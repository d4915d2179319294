"""Content sniffing: which of the supported types a file is, judged from its bytes (the name is a hint)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

from ragd.errors import UnsupportedMediaType

from ._decode import bom_encoding

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
CSV = "text/csv"
TSV = "text/tab-separated-values"
PNG, JPEG, TIFF = "image/png", "image/jpeg", "image/tiff"  # read by OCR (loaders/image.py)

SUPPORTED = (PDF, DOCX, HTML, MARKDOWN, TEXT, CSV, TSV, PNG, JPEG, TIFF)
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG), (b"II*\x00", TIFF), (b"MM\x00*", TIFF))

EXTENSIONS: dict[str, str] = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".html": HTML,
    ".htm": HTML,
    ".xhtml": HTML,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".mdown": MARKDOWN,
    ".mkd": MARKDOWN,
    ".txt": TEXT,
    ".text": TEXT,
    ".csv": CSV,
    ".tsv": TSV,
    ".tab": TSV,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".tif": TIFF,
    ".tiff": TIFF,
}

ALIASES: dict[str, str] = {
    "application/x-pdf": PDF,
    "text/x-markdown": MARKDOWN,
    "text/md": MARKDOWN,
    "application/xhtml+xml": HTML,
    "application/csv": CSV,
    "text/x-csv": CSV,
    "text/tsv": TSV,
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "image/x-png": PNG,
    "image/tif": TIFF,
}

# Binary formats we recognise only to reject them with a useful name.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"RIFF", "a RIFF media file (WebP/WAV/AVI)"),
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg media file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x00asm", "a WebAssembly module"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"{\\rtf", "an RTF document"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_HTML_START = re.compile(
    r"^(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_HTML_TAG = re.compile(
    r"<(?:html|head|body|title|meta|div|p|table|h[1-6]|article|main|section)\b[^>]*>", re.I
)


def extension_type(filename: str) -> str | None:
    """The supported type the file name's extension suggests, or ``None``."""
    return EXTENSIONS.get(PurePath(filename or "").suffix.lower())


def normalize_mime(mime: str) -> str:
    """``text/CSV; charset=utf-8`` → ``text/csv``, with common aliases mapped to the canonical type."""
    base = mime.split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def _zip_type(data: bytes, filename: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        if extension_type(filename) == DOCX:
            return DOCX  # the DOCX loader reports it as corrupt, with the reason
        raise UnsupportedMediaType(
            f"unreadable zip archive ({exc}); only DOCX zip files are supported"
        ) from exc
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        kind = "an Excel workbook (.xlsx)"
    elif "ppt/presentation.xml" in names:
        kind = "a PowerPoint presentation (.pptx)"
    elif "mimetype" in names and "content.xml" in names:
        kind = "an OpenDocument file"
    else:
        kind = "a zip archive"
    raise UnsupportedMediaType(f"{kind} is not a supported document type (no word/document.xml inside)")


def _looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27, 8))
    return controls / len(sample) > 0.05


def _utf16_without_bom(sample: bytes) -> bool:
    """Mostly-ASCII UTF-16 text has a NUL in every other byte."""
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return even.count(0) / len(even) > 0.6 or odd.count(0) / len(odd) > 0.6


def _is_html(head: str) -> bool:
    stripped = head.lstrip()
    if _HTML_START.match(stripped):
        return True
    return stripped.startswith("<") and len(_HTML_TAG.findall(stripped[:4096])) >= 2


def sniff_head(head: bytes, filename: str) -> str | None:
    """What the first bytes of a file already decide (an upload still arriving): raises
    :class:`ragd.errors.UnsupportedMediaType` when they refuse it, returns ``None`` when only the whole file can
    tell (zip-based and OLE2 files), else the type :func:`sniff_type` gives the whole file."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", _OLE2)) and b"%PDF-" not in head[:1024]:
        return None
    return sniff_type(head[:8192], filename)


def sniff_type(data: bytes, filename: str) -> str:
    """The MIME type of ``data`` among :data:`SUPPORTED`, sniffed from the content.

    Raises :class:`ragd.errors.UnsupportedMediaType` for any other binary content.
    """
    by_name = extension_type(filename)
    if not data:
        return by_name or TEXT
    head = data[:8192]
    if b"%PDF-" in data[:1024]:
        return PDF
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_type(data, filename)
    if head.startswith(_OLE2):
        if _ENCRYPTED_PACKAGE in data[:1_000_000]:
            return DOCX  # a password-protected OOXML file; the DOCX loader says so
        raise UnsupportedMediaType(
            "a legacy Microsoft Office binary file (.doc/.xls/.ppt) is not supported; save it as .docx"
        )
    for magic, image in _IMAGE_MAGIC:
        if head.startswith(magic):
            return image
    for magic, name in _MAGIC:
        if head.startswith(magic):
            # "BM" and "MZ" are also plausible text starts: only trust them when the rest is binary.
            if magic in (b"BM", b"MZ") and not _looks_binary(head):
                continue
            raise UnsupportedMediaType(f"{name} is not a supported document type")
    bom = bom_encoding(head)
    if bom is None and _looks_binary(head) and not _utf16_without_bom(head):
        raise UnsupportedMediaType("binary content of an unknown kind is not a supported document type")
    if bom is not None:
        text_head = head[bom[1] :].decode(bom[0], errors="ignore")
    elif b"\x00" in head:
        text_head = head.decode(
            "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be", errors="ignore"
        )
    else:
        text_head = head.decode("latin-1")
    if by_name == HTML:
        return HTML
    if by_name != MARKDOWN and _is_html(text_head):
        return HTML
    if by_name == MARKDOWN and _HTML_START.match(text_head.lstrip()):
        return HTML
    if by_name in (MARKDOWN, CSV, TSV):
        return by_name
    return TEXT
