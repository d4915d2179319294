"""PPTX loader (python-pptx): one page per slide, so a citation's page is the slide number.

Each slide starts with a heading "Slide N: title"; then its text frames (in the slide's shape order, groups
included), its tables as tables, and its speaker notes as a paragraph starting "Speaker notes:". The package is
checked first by ``_safezip`` (bomb guard, XML depth and entities) since python-pptx parses the parts itself.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER

from ragd.errors import DocumentCorrupt
from ragd.models import ParsedDocument

from ._build import DocBuilder, collapse
from ._safezip import open_zip, refuse_ole2, scan_parts
from .detect import PPTX

NOTES_PREFIX = "Speaker notes:"
_CHROME = {PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.SLIDE_NUMBER, PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.HEADER}


def _chrome(shape: Any) -> bool:
    """A footer, slide number, date or header placeholder: the same on every slide, not content."""
    return bool(shape.is_placeholder and shape.placeholder_format.type in _CHROME)


def _shapes(shapes: Iterable[Any]) -> Iterator[Any]:
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _frame_text(frame: Any) -> str:
    lines = []
    for para in frame.paragraphs:
        text = collapse("".join(run.text for run in para.runs) if para.runs else para.text)
        if text:
            lines.append("  " * min(para.level, 8) + text if para.level else text)
    return "\n".join(lines)


def _table_rows(table: Any) -> list[list[str]]:
    return [[collapse(cell.text) for cell in row.cells] for row in table.rows]


def _slide(builder: DocBuilder, slide: Any, number: int) -> None:
    title_shape = slide.shapes.title
    title = collapse(title_shape.text_frame.text) if title_shape is not None and title_shape.has_text_frame else ""
    builder.heading(f"Slide {number}: {title}" if title else f"Slide {number}", 1, page=number)
    for shape in _shapes(slide.shapes):
        if (title_shape is not None and shape.shape_id == title_shape.shape_id) or _chrome(shape):
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            builder.table(_table_rows(shape.table), page=number)
        elif shape.has_text_frame:
            builder.add("paragraph", _frame_text(shape.text_frame), page=number)
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        notes = _frame_text(frame) if frame is not None else ""
        if notes:
            builder.add("paragraph", f"{NOTES_PREFIX} {notes}", page=number)


def load_pptx(data: bytes, filename: str) -> ParsedDocument:
    """Slides in order, one page each: title heading, text frames, tables, speaker notes."""
    refuse_ole2(data, "PPTX")
    with open_zip(data, "PPTX") as zf:
        scan_parts(zf)
    try:
        prs = Presentation(io.BytesIO(data))
    except (KeyError, ValueError) as exc:  # a missing part or relationship
        raise DocumentCorrupt(f"the PPTX package could not be opened: {exc}") from exc
    builder = DocBuilder(PPTX)
    count = 0
    for count, slide in enumerate(prs.slides, 1):
        _slide(builder, slide, count)
    title = collapse(prs.core_properties.title or "") or None
    return builder.build(pages=count, title=title, empty_reason="the presentation has no slides with text")
