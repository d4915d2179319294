"""OpenDocument XML helpers shared by the ODT, ODS and ODP loaders: namespaces, inline text, lists, tables."""

from __future__ import annotations

import zipfile
from collections.abc import Callable

from lxml import etree

from ragd.errors import DocumentCorrupt, DocumentEncrypted

from ._build import collapse
from ._safezip import read_entry, xml_part

OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
PRESENTATION = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
MAX_COLUMNS = 16_384  # the widest sheet LibreOffice and Excel make


def q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


T_P, T_H, T_LIST, T_ITEM, T_HEADER = (
    q(TEXT, "p"),
    q(TEXT, "h"),
    q(TEXT, "list"),
    q(TEXT, "list-item"),
    q(TEXT, "list-header"),
)
T_S, T_TAB, T_BREAK = q(TEXT, "s"), q(TEXT, "tab"), q(TEXT, "line-break")
_SKIP_INLINE = {q(TEXT, n) for n in ("note", "tracked-changes", "bookmark-ref", "ruby-text")} | {
    q(OFFICE, "annotation")
}
TABLE_T, ROW, CELL, COVERED = (
    q(TABLE, "table"),
    q(TABLE, "table-row"),
    q(TABLE, "table-cell"),
    q(TABLE, "covered-table-cell"),
)
_ROW_GROUPS = {q(TABLE, n) for n in ("table-header-rows", "table-rows", "table-row-group")}


def open_body(zf: zipfile.ZipFile, kind: str, label: str) -> etree._Element:
    """``office:body/office:{kind}`` of content.xml; an encrypted package is ``document_encrypted``."""
    manifest = read_entry(zf, "META-INF/manifest.xml") or b""
    if b"encryption-data" in manifest:
        raise DocumentEncrypted(f"the {label} is password-protected; remove the password and upload it again")
    root = xml_part(zf, "content.xml")
    if root is None:
        raise DocumentCorrupt(f"the {label} has no content.xml")
    body = root.find(f"{q(OFFICE, 'body')}/{q(OFFICE, kind)}")
    if body is None:
        raise DocumentCorrupt(f"content.xml of the {label} has no office:{kind} body")
    return body


def _inline(el: etree._Element, out: list[str]) -> None:
    if el.text:
        out.append(el.text)
    for child in el:
        tag = child.tag
        if tag == T_S:
            out.append(" " * max(1, min(_int(child.get(q(TEXT, "c")), 1), 100)))
        elif tag == T_TAB:
            out.append("\t")
        elif tag == T_BREAK:
            out.append("\n")
        elif isinstance(tag, str) and tag not in _SKIP_INLINE:
            _inline(child, out)
        if child.tail:
            out.append(child.tail)


def inline_text(el: etree._Element) -> str:
    """The text of one paragraph or heading (spans, links, spaces, tabs, line breaks; notes left out)."""
    out: list[str] = []
    _inline(el, out)
    return "".join(out)


def list_lines(lst: etree._Element, depth: int = 0) -> list[str]:
    """``- item`` lines of a ``text:list``, nested lists indented."""
    lines: list[str] = []
    for item in lst:
        if item.tag not in (T_ITEM, T_HEADER):
            continue
        for child in item:
            if child.tag in (T_P, T_H):
                text = collapse(inline_text(child))
                if text:
                    lines.append(f"{'  ' * min(depth, 8)}- {text}")
            elif child.tag == T_LIST:
                lines.extend(list_lines(child, depth + 1))
    return lines


def flat_text(el: etree._Element) -> str:
    """Every paragraph under ``el`` on one line (a table cell, a text box)."""
    parts = [collapse(inline_text(p)) for p in el.iter(T_P, T_H)]
    return " ".join(p for p in parts if p)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _rows(table: etree._Element) -> list[etree._Element]:
    rows: list[etree._Element] = []
    for child in table:
        if child.tag == ROW:
            rows.append(child)
        elif child.tag in _ROW_GROUPS:
            rows.extend(_rows(child))
    return rows


def table_rows(table: etree._Element, take: Callable[[list[str]], bool] | None = None) -> list[list[str]]:
    """The grid of a ``table:table``: repeated cells and rows expanded, but repeats of empty cells and rows (which
    fill a sheet to its edge) are not; ``take(row) -> bool`` (a cell budget, ``_sheets.CellBudget``) may stop the
    reading."""
    grid: list[list[str]] = []
    for tr in _rows(table):
        row: list[str] = []
        width = 0
        for tc in tr:
            if tc.tag not in (CELL, COVERED):
                continue
            repeat = max(1, _int(tc.get(q(TABLE, "number-columns-repeated")), 1))
            text = flat_text(tc)
            if text:
                row.extend([""] * (width - len(row)))
                row.extend([text] * min(repeat, MAX_COLUMNS - len(row)))
            width = min(width + repeat, MAX_COLUMNS)
        if not row:
            continue
        repeat = max(1, _int(tr.get(q(TABLE, "number-rows-repeated")), 1))
        for _ in range(repeat):
            if take is not None and not take(row):
                return grid
            grid.append(list(row))
    return grid
