"""EPUB loader: the book's XHTML documents in spine order, each read by the HTML loader's walker (headings,
paragraphs, lists, tables). A chapter without a heading of its own gets its ``<title>`` as one.

The package is read with ``_safezip``: bomb guard, and every XML document (container, OPF, each chapter) parsed
by the hardened parser first (XML nesting depth, entities), so the HTML walker only ever sees checked XML.
"""

from __future__ import annotations

import posixpath
import zipfile
from urllib.parse import unquote

from lxml import etree
from selectolax.lexbor import LexborHTMLParser

from ragd.errors import DocumentCorrupt, DocumentEncrypted
from ragd.models import ParsedDocument

from ._build import DocBuilder, collapse
from ._safezip import open_zip, parse_xml, read_entry, xml_part
from .detect import EPUB
from .html import DROP, HEADINGS, _decode, _Walker

CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
_XHTML_TYPES = ("application/xhtml+xml", "text/html", "application/x-dtbook+xml")


def _opf_path(zf: zipfile.ZipFile) -> str:
    container = xml_part(zf, "META-INF/container.xml")
    if container is None:
        raise DocumentCorrupt("the EPUB has no META-INF/container.xml")
    rootfile = container.find(f".//{{{CONTAINER}}}rootfile")
    path = rootfile.get("full-path") if rootfile is not None else None
    if not path:
        raise DocumentCorrupt("META-INF/container.xml of the EPUB names no package document")
    return path


def _spine(opf: etree._Element, base: str) -> list[str]:
    """Paths (inside the zip) of the spine's XHTML documents, in reading order; the EPUB 3 nav doc left out."""
    items: dict[str, tuple[str, str, str]] = {}
    for item in opf.iter(f"{{{OPF}}}item"):
        href = unquote(item.get("href", "").split("#", 1)[0])
        path = posixpath.normpath(posixpath.join(base, href))
        items[item.get("id", "")] = (path, item.get("media-type", ""), item.get("properties", ""))
    paths: list[str] = []
    for ref in opf.iter(f"{{{OPF}}}itemref"):
        found = items.get(ref.get("idref", ""))
        if found is None:
            continue
        path, media, props = found
        if media in _XHTML_TYPES and "nav" not in props.split() and path not in paths:
            paths.append(path)
    return paths


def _chapter(builder: DocBuilder, raw: bytes, path: str) -> None:
    parse_xml(raw, path, keep=False)  # depth and entities, before the HTML parser sees it
    tree = LexborHTMLParser(_decode(raw))
    root = tree.body
    if root is None:
        return
    if not any(n.tag in HEADINGS for n in root.traverse()):
        title = tree.css_first("title")
        if title is not None:
            builder.heading(collapse(title.text() or ""), 1)
    walker = _Walker(builder, DROP)
    walker.walk(root)
    walker.flush()


def load_epub(data: bytes, filename: str) -> ParsedDocument:
    """The chapters' blocks in reading order; the title from the package's ``dc:title``."""
    with open_zip(data, "EPUB") as zf:
        opf_path = _opf_path(zf)
        opf = xml_part(zf, opf_path)
        if opf is None:
            raise DocumentCorrupt(f"the EPUB's package document {opf_path!r} is missing")
        spine = _spine(opf, posixpath.dirname(opf_path))
        encryption = read_entry(zf, "META-INF/encryption.xml") or b""
        if any(p.encode() in encryption for p in spine):
            raise DocumentEncrypted("the EPUB's chapters are encrypted (DRM); only DRM-free books can be read")
        builder = DocBuilder(EPUB)
        for path in spine:
            raw = read_entry(zf, path)
            if raw:
                _chapter(builder, raw, path)
    title_el = opf.find(f".//{{{DC}}}title")
    title = collapse(title_el.text or "") if title_el is not None else ""
    return builder.build(title=title or None, empty_reason="the EPUB's chapters contain no text")
