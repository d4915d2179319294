"""Content sniffing: which of the supported types a file is, judged from its bytes (the name is a hint)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

from ragd.errors import LegacyFormat, UnsupportedMediaType

from ._decode import bom_encoding

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
CSV = "text/csv"
TSV = "text/tab-separated-values"
EML = "message/rfc822"
MSG = "application/vnd.ms-outlook"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
EPUB = "application/epub+zip"
RTF = "application/rtf"
PNG, JPEG, TIFF = "image/png", "image/jpeg", "image/tiff"  # read by OCR (loaders/image.py)

SUPPORTED = (PDF, DOCX, HTML, MARKDOWN, TEXT, CSV, TSV, PPTX, XLSX, ODT, ODS, ODP, EPUB, RTF, EML, MSG, PNG, JPEG, TIFF)
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
    ".eml": EML,
    ".msg": MSG,
    ".pptx": PPTX,
    ".xlsx": XLSX,
    ".xlsm": XLSX,
    ".odt": ODT,
    ".ods": ODS,
    ".odp": ODP,
    ".epub": EPUB,
    ".rtf": RTF,
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
    "text/rtf": RTF,
    "application/x-rtf": RTF,
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
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_MSG_PROPERTIES = "__properties_version1.0".encode("utf-16-le")  # an Outlook item's property stream
_HTML_START = re.compile(
    r"^(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_HTML_TAG = re.compile(
    r"<(?:html|head|body|title|meta|div|p|table|h[1-6]|article|main|section)\b[^>]*>", re.I
)


_MAIL_HEADER = re.compile(r"([A-Za-z0-9-]{1,60}):[ \t]?[^\r\n]*")
_MAIL_NAMES = frozenset({"from", "to", "cc", "subject", "date", "message-id", "mime-version", "received",
                         "return-path", "reply-to", "delivered-to", "content-type", "x-mailer", "sender"})
_MAIL_KEY = frozenset({"from", "message-id", "mime-version"})


def is_mail(text_head: str) -> bool:
    """Whether the text starts with RFC 822 headers: every line up to the first blank one a header (or its folded
    continuation), at least three of them known mail headers, one of From, Message-ID or MIME-Version."""
    names: set[str] = set()
    lines = text_head.lstrip("\ufeff").split("\n")
    if len(text_head) >= 8192:
        lines = lines[:-1]  # a head cut from a longer file: its last line may be cut inside a header's name
    for i, line in enumerate(lines[:200]):
        line = line.rstrip("\r")
        if not line:
            break
        if line[0] in " \t" and i:
            continue
        m = _MAIL_HEADER.fullmatch(line)
        if m is None:
            return False
        names.add(m.group(1).lower())
    else:
        if len(text_head) < 8192:  # the whole file is headers: no body, not a message
            return False
    known = names & _MAIL_NAMES
    return len(known) >= 3 and bool(known & _MAIL_KEY)


def extension_type(filename: str) -> str | None:
    """The supported type the file name's extension suggests, or ``None``."""
    return EXTENSIONS.get(PurePath(filename or "").suffix.lower())


def normalize_mime(mime: str) -> str:
    """``text/CSV; charset=utf-8`` → ``text/csv``, with common aliases mapped to the canonical type."""
    base = mime.split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


_ZIP_TYPES = (DOCX, PPTX, XLSX, ODT, ODS, ODP, EPUB)
# [Content_Types].xml: the main part's content type (documents, templates, macro-enabled and slide-show variants)
_OOXML_MAIN: tuple[tuple[str, str], ...] = (
    ("wordprocessingml.document.main+xml", DOCX),
    ("wordprocessingml.template.main+xml", DOCX),
    ("ms-word.document.macroenabled.main+xml", DOCX),
    ("presentationml.presentation.main+xml", PPTX),
    ("presentationml.slideshow.main+xml", PPTX),
    ("presentationml.template.main+xml", PPTX),
    ("ms-powerpoint.presentation.macroenabled.main+xml", PPTX),
    ("spreadsheetml.sheet.main+xml", XLSX),
    ("spreadsheetml.template.main+xml", XLSX),
    ("ms-excel.sheet.macroenabled.main+xml", XLSX),
)
_ODF_MIMETYPES = {
    ODT: ODT,
    ODS: ODS,
    ODP: ODP,
    EPUB: EPUB,
    ODT + "-template": ODT,
    ODS + "-template": ODS,
    ODP + "-template": ODP,
}
_MAIN_PARTS = (("word/document.xml", DOCX), ("ppt/presentation.xml", PPTX), ("xl/workbook.xml", XLSX))


def _zip_head(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    try:
        with zf.open(name) as member:
            return member.read(limit)
    except KeyError:
        return b""


def _zip_type(data: bytes, filename: str) -> str:
    """A zip's type from its ``mimetype`` entry (ODF, EPUB) or ``[Content_Types].xml`` (OOXML)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            mimetype = _zip_head(zf, "mimetype", 200).decode("ascii", "replace").strip().lower()
            types = _zip_head(zf, "[Content_Types].xml", 200_000).decode("utf-8", "replace").lower()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
        by_name = extension_type(filename)
        if by_name in _ZIP_TYPES:
            return by_name  # its loader reports it as corrupt, with the reason
        raise UnsupportedMediaType(f"unreadable zip archive ({exc})") from exc
    if mimetype in _ODF_MIMETYPES:
        return _ODF_MIMETYPES[mimetype]
    for marker, kind in _OOXML_MAIN:
        if marker in types:
            return kind
    for part, kind in _MAIN_PARTS:
        if part in names:
            return kind
    if mimetype.startswith("application/vnd.oasis.opendocument."):
        raise UnsupportedMediaType(f"an OpenDocument file of type {mimetype!r} is not a supported document type")
    raise UnsupportedMediaType(
        "a zip archive is not a supported document type (supported zip-based formats: DOCX, PPTX, XLSX, ODT, ODS, "
        "ODP, EPUB)"
    )


# OLE2 directory entries hold stream names in UTF-16LE: they tell a legacy Office file's application.
_LEGACY: tuple[tuple[str, str, str], ...] = (
    ("WordDocument", "a legacy Word document (.doc)", "docx"),
    ("PowerPoint Document", "a legacy PowerPoint presentation (.ppt)", "pptx"),
    ("Workbook", "a legacy Excel workbook (.xls)", "xlsx"),
    ("Book", "a legacy Excel 5 workbook (.xls)", "xlsx"),
)


def _legacy_office(data: bytes) -> LegacyFormat | UnsupportedMediaType:
    """The 415 to raise for an OLE2 compound file that is not an encrypted OOXML package."""
    for stream, kind, target in _LEGACY:  # the directory can be anywhere in the file: search it all (memchr-fast)
        if stream.encode("utf-16-le") + b"\x00\x00" in data:
            return LegacyFormat(
                f"{kind} is not supported: convert it to .{target} first, e.g. with LibreOffice: "
                f"`soffice --headless --convert-to {target} FILE` (or open and save it as .{target})"
            )
    return UnsupportedMediaType("an OLE2 compound file (e.g. a legacy .msg, .vsd or .pub) is not supported")


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
            # a password-protected OOXML file; its loader says so (document_encrypted)
            return by_name if by_name in (DOCX, PPTX, XLSX) else DOCX
        if _MSG_PROPERTIES in data or by_name == MSG:
            return MSG  # an Outlook message (the MSG loader says why when it is not a readable one)
        raise _legacy_office(data)
    if head.startswith(b"{\\rtf"):
        return RTF
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
    if by_name in (None, TEXT, EML, MSG) and is_mail(text_head):
        return EML
    if by_name != MARKDOWN and _is_html(text_head):
        return HTML
    if by_name == MARKDOWN and _HTML_START.match(text_head.lstrip()):
        return HTML
    if by_name in (MARKDOWN, CSV, TSV):
        return by_name
    return TEXT
