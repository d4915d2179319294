"""Reading a DOCX package safely (the zip-bomb guard and hardened XML of ``_safezip``): styles, numbering."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from ragd.errors import DocumentCorrupt, DocumentEmpty, DocumentEncrypted

from ._safezip import MAX_UNCOMPRESSED as MAX_UNCOMPRESSED
from ._safezip import open_zip, xml_part

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Transitional (ECMA) and Strict (ISO 29500) namespaces: we accept both.
W_NAMESPACES = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",
)
M_NAMESPACES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/math",
    "http://purl.oclc.org/ooxml/officeDocument/math",
)
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_HEADING = re.compile(r"^heading\s*([1-9])$", re.I)


@dataclass(slots=True)
class Package:
    document: etree._Element
    w: str  # the WordprocessingML namespace in use
    styles: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # id → (name, outline level)
    numbering: dict[tuple[str, int], str] = field(default_factory=dict)  # (numId, ilvl) → numFmt


def _styles(root: etree._Element | None, w: str) -> dict[str, tuple[str, int | None]]:
    if root is None:
        return {}
    raw: dict[str, tuple[str, int | None, str | None]] = {}
    for st in root.iter(f"{{{w}}}style"):
        sid = st.get(f"{{{w}}}styleId")
        if not sid:
            continue
        name_el = st.find(f"{{{w}}}name")
        name = name_el.get(f"{{{w}}}val", sid) if name_el is not None else sid
        lvl_el = st.find(f"{{{w}}}pPr/{{{w}}}outlineLvl")
        lvl = _int(lvl_el.get(f"{{{w}}}val")) if lvl_el is not None else None
        based = st.find(f"{{{w}}}basedOn")
        raw[sid] = (name, lvl, based.get(f"{{{w}}}val") if based is not None else None)
    out: dict[str, tuple[str, int | None]] = {}
    for sid, (name, lvl, based) in raw.items():
        hops = 0
        while lvl is None and based in raw and hops < 10:
            _n, lvl, based = raw[based]
            hops += 1
        out[sid] = (name, lvl)
    return out


def _numbering(root: etree._Element | None, w: str) -> dict[tuple[str, int], str]:
    if root is None:
        return {}
    abstract: dict[str, dict[int, str]] = {}
    for an in root.iter(f"{{{w}}}abstractNum"):
        levels: dict[int, str] = {}
        for lvl in an.iter(f"{{{w}}}lvl"):
            fmt = lvl.find(f"{{{w}}}numFmt")
            levels[_int(lvl.get(f"{{{w}}}ilvl")) or 0] = fmt.get(f"{{{w}}}val", "") if fmt is not None else ""
        abstract[an.get(f"{{{w}}}abstractNumId", "")] = levels
    out: dict[tuple[str, int], str] = {}
    for num in root.iter(f"{{{w}}}num"):
        ref = num.find(f"{{{w}}}abstractNumId")
        levels = abstract.get(ref.get(f"{{{w}}}val", "") if ref is not None else "", {})
        for ilvl, fmt in levels.items():
            out[(num.get(f"{{{w}}}numId", ""), ilvl)] = fmt
    return out


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def open_package(data: bytes) -> Package:
    """Open and validate a DOCX; every failure becomes a ``DocumentError`` with the reason."""
    if not data.strip():
        raise DocumentEmpty("the DOCX file is empty (0 bytes)")
    if data.startswith(_OLE2):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise DocumentEncrypted("the DOCX is password-protected; remove the password and upload it again")
        raise DocumentCorrupt("this is a legacy binary Word file (.doc), not a DOCX; save it as .docx")
    with open_zip(data, "DOCX") as zf:
        document = xml_part(zf, "word/document.xml")
        if document is None:
            raise DocumentCorrupt("the archive has no word/document.xml: not a Word document")
        w = etree.QName(document).namespace or ""
        if w not in W_NAMESPACES:
            raise DocumentCorrupt(f"word/document.xml uses an unknown namespace {w!r}")
        return Package(
            document=document,
            w=w,
            styles=_styles(xml_part(zf, "word/styles.xml"), w),
            numbering=_numbering(xml_part(zf, "word/numbering.xml"), w),
        )


def heading_level(name: str) -> int | None:
    """1 for Title, N for "Heading N", else ``None``."""
    lowered = name.strip().lower()
    if lowered == "title":
        return 1
    match = _HEADING.match(lowered)
    return int(match.group(1)) if match else None
