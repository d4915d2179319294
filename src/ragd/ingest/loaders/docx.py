"""DOCX loader: the body's paragraphs and tables in document order, headings from styles, tables as Markdown.

The package is read directly (zip + hardened lxml) rather than through python-docx's object model so that both
Transitional and Strict OOXML parse, tables with merged cells map to a regular grid, and text boxes are kept.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ragd.errors import DocumentCorrupt, DocumentError
from ragd.models import ParsedDocument

from ._build import DocBuilder, collapse
from ._ooxml import M_NAMESPACES, MC_NS, Package, heading_level, open_package
from .detect import DOCX


class _Walker:
    def __init__(self, pkg: Package) -> None:
        w = pkg.w
        self.pkg = pkg
        self.P, self.TBL, self.TR, self.TC = f"{{{w}}}p", f"{{{w}}}tbl", f"{{{w}}}tr", f"{{{w}}}tc"
        self.SDT, self.SDT_CONTENT = f"{{{w}}}sdt", f"{{{w}}}sdtContent"
        self.T, self.TAB = f"{{{w}}}t", f"{{{w}}}tab"
        self.BREAKS = {f"{{{w}}}br", f"{{{w}}}cr"}
        self.HYPHEN = f"{{{w}}}noBreakHyphen"
        self.TXBX = f"{{{w}}}txbxContent"
        self.SKIP = {
            f"{{{w}}}{n}"
            for n in (
                "pPr",
                "rPr",
                "del",
                "moveFrom",
                "instrText",
                "delText",
                "tblPr",
                "tcPr",
                "trPr",
                "sectPr",
                "fldData",
            )
        }
        self.SKIP.add(f"{{{MC_NS}}}Fallback")
        self.MATH_T = {f"{{{m}}}t" for m in M_NAMESPACES}
        self.CONTAINERS = {f"{{{w}}}{n}" for n in ("customXml", "ins", "moveTo", "smartTag")}
        self.list_counters: dict[tuple[str, int], int] = {}
        # With a Title paragraph, Title is level 1 and "Heading N" is level N+1, so the title stays outermost.
        title_ids = {sid for sid, (name, _lvl) in pkg.styles.items() if name.strip().lower() == "title"}
        self.shift = int(any(self.val(el) in title_ids for el in pkg.document.iter(f"{{{w}}}pStyle")))

    def val(self, el: etree._Element | None, attr: str = "val") -> str | None:
        return None if el is None else el.get(f"{{{self.pkg.w}}}{attr}")

    # -- body order ------------------------------------------------------------------------------------------
    def items(self, parent: etree._Element) -> Iterator[etree._Element]:
        for child in parent:
            if child.tag in (self.P, self.TBL):
                yield child
            elif child.tag == self.SDT:
                content = child.find(self.SDT_CONTENT)
                if content is not None:
                    yield from self.items(content)
            elif child.tag in self.CONTAINERS:
                yield from self.items(child)

    # -- paragraph text --------------------------------------------------------------------------------------
    def text(self, el: etree._Element, out: list[str], boxes: list[etree._Element]) -> None:
        for child in el:
            tag = child.tag
            if tag == self.T or tag in self.MATH_T:
                out.append(child.text or "")
            elif tag == self.TAB:
                out.append("\t")
            elif tag in self.BREAKS:
                out.append("\n")
            elif tag == self.HYPHEN:
                out.append("-")
            elif tag == self.TXBX:
                boxes.append(child)
            elif tag in self.SKIP or not isinstance(tag, str):
                continue
            else:
                self.text(child, out, boxes)

    def para_text(self, p: etree._Element) -> tuple[str, list[etree._Element]]:
        out: list[str] = []
        boxes: list[etree._Element] = []
        self.text(p, out, boxes)
        return "".join(out), boxes

    def flat_text(self, el: etree._Element) -> str:
        """Every paragraph under ``el`` (nested tables and text boxes too) on one line."""
        parts: list[str] = []
        for item in self.items(el):
            if item.tag == self.P:
                text, boxes = self.para_text(item)
                parts.append(text)
                parts.extend(self.flat_text(b) for b in boxes)
            else:
                parts.extend(self.flat_text(tc) for tr in item.findall(self.TR) for tc in self._cells(tr))
        return collapse(" ".join(p for p in parts if p.strip()))

    # -- paragraph classification ----------------------------------------------------------------------------
    def style_of(self, p: etree._Element) -> tuple[str, int | None]:
        w = self.pkg.w
        sid = self.val(p.find(f"{{{w}}}pPr/{{{w}}}pStyle"))
        name, outline = self.pkg.styles.get(sid or "", (sid or "", None))
        direct = self.val(p.find(f"{{{w}}}pPr/{{{w}}}outlineLvl"))
        if direct is not None and direct.isdigit():
            outline = int(direct)
        return name, outline

    def list_marker(self, p: etree._Element, style_name: str) -> str | None:
        w = self.pkg.w
        num_pr = p.find(f"{{{w}}}pPr/{{{w}}}numPr")
        if num_pr is None:
            return "- " if style_name.lower().startswith("list") else None
        num_id = self.val(num_pr.find(f"{{{w}}}numId")) or ""
        if num_id in ("", "0"):
            return None
        ilvl_raw = self.val(num_pr.find(f"{{{w}}}ilvl")) or "0"
        ilvl = int(ilvl_raw) if ilvl_raw.isdigit() else 0
        fmt = self.pkg.numbering.get((num_id, ilvl), "bullet")
        indent = "  " * min(ilvl, 8)
        if fmt in ("bullet", "none", ""):
            return indent + "- "
        for key in [k for k in self.list_counters if k[0] == num_id and k[1] > ilvl]:
            del self.list_counters[key]
        count = self.list_counters.get((num_id, ilvl), 0) + 1
        self.list_counters[(num_id, ilvl)] = count
        return f"{indent}{count}. "

    # -- tables ----------------------------------------------------------------------------------------------
    def table_rows(self, tbl: etree._Element) -> list[list[str]]:
        w = self.pkg.w
        rows: list[list[str]] = []
        for tr in tbl.findall(self.TR):
            row: list[str] = [""] * _int(self.val(tr.find(f"{{{w}}}trPr/{{{w}}}gridBefore")), 0)
            for tc in self._cells(tr):
                span = max(1, min(_int(self.val(tc.find(f"{{{w}}}tcPr/{{{w}}}gridSpan")), 1), 64))
                vmerge = tc.find(f"{{{w}}}tcPr/{{{w}}}vMerge")
                col = len(row)
                if vmerge is not None and self.val(vmerge) != "restart" and rows and col < len(rows[-1]):
                    text = rows[-1][col]
                else:
                    text = self.flat_text(tc)
                row.extend([text] * span)
            rows.append(row)
        return rows

    def _cells(self, tr: etree._Element) -> Iterator[etree._Element]:
        for child in tr:
            if child.tag == self.TC:
                yield child
            elif child.tag == self.SDT:
                content = child.find(self.SDT_CONTENT)
                if content is not None:
                    yield from self._cells(content)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _emit(walker: _Walker, builder: DocBuilder, parent: etree._Element, pending: list[str]) -> None:
    for item in walker.items(parent):
        if item.tag == walker.TBL:
            _flush(builder, pending)
            builder.table(walker.table_rows(item))
            continue
        text, boxes = walker.para_text(item)
        name, outline = walker.style_of(item)
        level = heading_level(name)
        if level is None and outline is not None and outline < 9:
            level = outline + 1
        if level is not None and name.strip().lower() != "title":
            level += walker.shift
        if level is not None and text.strip():
            _flush(builder, pending)
            builder.heading(text, level)
        elif text.strip():
            marker = walker.list_marker(item, name)
            if marker is not None:
                pending.append(marker + collapse(text))
            else:
                _flush(builder, pending)
                builder.add("paragraph", text)
        for box in boxes:
            _flush(builder, pending)
            _emit(walker, builder, box, pending)


def _flush(builder: DocBuilder, pending: list[str]) -> None:
    if pending:
        builder.add("list", "\n".join(pending))
        pending.clear()


def load_docx(data: bytes, filename: str) -> ParsedDocument:
    """Paragraph, heading, list and table blocks of the document body."""
    pkg = open_package(data)
    walker = _Walker(pkg)
    body = pkg.document.find(f"{{{pkg.w}}}body")
    if body is None:
        raise DocumentCorrupt("word/document.xml has no <w:body>")
    builder = DocBuilder(DOCX)
    pending: list[str] = []
    try:
        _emit(walker, builder, body, pending)
        _flush(builder, pending)
    except DocumentError:
        raise
    except RecursionError as exc:
        raise DocumentCorrupt("the DOCX body is nested too deeply to read") from exc
    return builder.build(empty_reason="the DOCX body contains no text")
