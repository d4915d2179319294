"""Bytes → text for the text-based formats: BOMs, UTF-8, then charset-normalizer, then cp1252."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from ragd.errors import DocumentCorrupt

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# charset-normalizer looks at samples; give it enough to be right without reading megabytes.
_DETECT_BYTES = 256 * 1024
_LATIN_FAMILY = frozenset(
    {
        "latin_1",
        "iso8859_15",
        "cp1250",
        "iso8859_2",
        "cp1257",
        "iso8859_4",
        "iso8859_13",
        "iso8859_16",
        "mac_latin2",
        "mac_roman",
        "cp850",
        "cp437",
        "iso8859_3",
        "iso8859_9",
        "cp1254",
        "iso8859_10",
    }
)


def bom_encoding(data: bytes) -> tuple[str, int] | None:
    """The encoding a byte-order mark announces and the mark's length, or ``None``."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc, len(bom)
    return None


def detect_encoding(data: bytes) -> str:
    """Best guess of the encoding of ``data`` (BOM, strict UTF-8, charset-normalizer, cp1252)."""
    bom = bom_encoding(data)
    if bom:
        return bom[0]
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sampling boundary is still UTF-8.
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    best = from_bytes(data[:_DETECT_BYTES]).best()
    if best is None or not best.encoding:
        return "cp1252"
    if best.encoding in _LATIN_FAMILY:
        # Short Western text is often guessed as a sibling code page (è read as č in cp1250). When the
        # bytes are valid cp1252, prefer it: Western European text is the common case for legacy files.
        try:
            data.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return best.encoding


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """Decode ``data`` to ``str`` with newlines normalised to ``\\n`` and NULs removed."""
    bom = bom_encoding(data)
    if bom:
        encoding, skip = bom
        data = data[skip:]
    elif encoding is None:
        encoding = detect_encoding(data)
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError as exc:
        raise DocumentCorrupt(f"unknown text encoding {encoding!r}") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
