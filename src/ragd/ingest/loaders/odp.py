"""ODP loader: one page per slide (page = slide number), like PPTX: a "Slide N: title" heading, the text of its
frames, its tables, and its speaker notes ("Speaker notes: …"), from content.xml (hardened parser)."""

from __future__ import annotations

from lxml import etree

from ragd.models import ParsedDocument

from ._build import DocBuilder, collapse
from ._odf import (
    DRAW,
    PRESENTATION,
    T_H,
    T_LIST,
    T_P,
    TABLE_T,
    flat_text,
    inline_text,
    list_lines,
    open_body,
    q,
    table_rows,
)
from ._safezip import open_zip, refuse_ole2
from ._sheets import CellBudget
from .detect import ODP
from .pptx import NOTES_PREFIX

_PAGE, _FRAME, _NOTES = q(DRAW, "page"), q(DRAW, "frame"), q(PRESENTATION, "notes")
_CLASS = q(PRESENTATION, "class")


def _frame_blocks(builder: DocBuilder, frame: etree._Element, page: int, budget: CellBudget) -> None:
    for el in frame.iter(T_P, T_H, T_LIST, TABLE_T):
        if any(a.tag in (T_LIST, TABLE_T) for a in el.iterancestors()):
            continue  # read with its list or table
        if el.tag == TABLE_T:
            builder.table(table_rows(el, budget.take), page=page)
        elif el.tag == T_LIST:
            builder.add("list", "\n".join(list_lines(el)), page=page)
        else:
            builder.add("paragraph", collapse(inline_text(el)), page=page)


def _slide(builder: DocBuilder, slide: etree._Element, number: int, budget: CellBudget) -> None:
    frames = [f for f in slide.iter(_FRAME) if not any(a.tag == _NOTES for a in f.iterancestors())]
    titles = [f for f in frames if f.get(_CLASS) == "title"]
    title = flat_text(titles[0]) if titles else ""
    builder.heading(f"Slide {number}: {title}" if title else f"Slide {number}", 1, page=number)
    for frame in frames:
        if frame.get(_CLASS) not in ("title", "page-number", "footer", "date-time", "header"):
            _frame_blocks(builder, frame, number, budget)
    notes = slide.find(_NOTES)
    if notes is not None:
        text = " ".join(
            flat_text(f) for f in notes.iter(_FRAME) if f.get(_CLASS) not in ("page", "page-number")
        ).strip()
        if text:
            builder.add("paragraph", f"{NOTES_PREFIX} {text}", page=number)


def load_odp(data: bytes, filename: str) -> ParsedDocument:
    """Slides in order, one page each."""
    refuse_ole2(data, "ODP")
    with open_zip(data, "ODP") as zf:
        body = open_body(zf, "presentation", "ODP")
    builder = DocBuilder(ODP)
    budget = CellBudget()
    count = 0
    for count, slide in enumerate(body.iter(_PAGE), 1):
        _slide(builder, slide, count, budget)
    budget.note(builder)
    return builder.build(pages=count, empty_reason="the presentation has no slides with text")
