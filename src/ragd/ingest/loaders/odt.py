"""ODT loader: content.xml read with the hardened parser (``_safezip``): headings (by outline level),
paragraphs, lists and tables in document order; sections and text boxes are walked into."""

from __future__ import annotations

from lxml import etree

from ragd.models import ParsedDocument

from ._build import DocBuilder, collapse
from ._odf import DRAW, T_H, T_LIST, T_P, TABLE_T, TEXT, flat_text, inline_text, list_lines, open_body, q, table_rows
from ._safezip import open_zip, refuse_ole2
from ._sheets import CellBudget
from .detect import ODT

_CONTAINERS = {q(TEXT, n) for n in ("section", "index-body", "deletion-skip")} | {
    q(TEXT, "table-of-content"),
    q(DRAW, "frame"),
    q(DRAW, "text-box"),
}
_SKIP = {q(TEXT, n) for n in ("tracked-changes", "table-of-content", "sequence-decls", "variable-decls")}
_FRAMES = q(DRAW, "frame")


def _walk(builder: DocBuilder, parent: etree._Element, budget: CellBudget) -> None:
    for el in parent:
        tag = el.tag
        if tag == T_H:
            level = el.get(q(TEXT, "outline-level"))
            builder.heading(inline_text(el), int(level) if level and level.isdigit() else 1)
        elif tag == T_P:
            builder.add("paragraph", "\n".join(collapse(line) for line in inline_text(el).split("\n")))
            for frame in el.iter(_FRAMES):  # text boxes anchored in the paragraph
                builder.add("paragraph", flat_text(frame))
        elif tag == T_LIST:
            builder.add("list", "\n".join(list_lines(el)))
        elif tag == TABLE_T:
            builder.table(table_rows(el, budget.take))
        elif tag in _CONTAINERS and tag not in _SKIP:
            _walk(builder, el, budget)


def load_odt(data: bytes, filename: str) -> ParsedDocument:
    """Heading, paragraph, list and table blocks of the text body."""
    refuse_ole2(data, "ODT")
    with open_zip(data, "ODT") as zf:
        body = open_body(zf, "text", "ODT")
    builder = DocBuilder(ODT)
    budget = CellBudget()  # repeated table rows and cells are expanded within the same budget as a spreadsheet's
    _walk(builder, body, budget)
    budget.note(builder)
    return builder.build(empty_reason="the ODT document contains no text")
