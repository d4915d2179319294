"""A PDF page's text lines and tables in reading order: each table where its first line was, its lines out of
the flow (so no cell is repeated as a paragraph)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import pypdfium2 as pdfium

from .pdf_tables import Box, PdfTable

L = TypeVar("L")


def _inside(box: Box, x: float, y: float) -> bool:
    return box[0] - 1 <= x <= box[2] + 1 and box[1] - 1 <= y <= box[3] + 1


def line_tables(textpage: pdfium.PdfTextPage, raw: str, tables: Sequence[PdfTable]) -> list[int | None]:
    """For each line of ``raw`` (split on CRLF, as the loader does), the index of the table whose box holds its
    first glyph, or ``None``. Caller holds PDFium's lock."""
    owners: list[int | None] = []
    pos = 0
    for piece in raw.split("\r\n"):
        start = pos
        pos += len(piece) + 2
        owner = None
        if piece.strip() and tables:
            first = start + (len(piece) - len(piece.lstrip()))
            try:
                left, bottom, right, top = textpage.get_charbox(first)
            except pdfium.PdfiumError:
                left = bottom = right = top = float("nan")
            x, y = (left + right) / 2, (bottom + top) / 2
            owner = next((i for i, t in enumerate(tables) if _inside(t.bbox, x, y)), None)
        owners.append(owner)
    return owners


def page_flow(lines: Sequence[L], owners: Sequence[int | None], tables: Sequence[PdfTable]) -> list[list[L] | PdfTable]:
    """The page as segments in reading order: lists of lines between the tables, each table where its first
    line was. A table none of whose lines were found goes at the end of the page."""
    flow: list[list[L] | PdfTable] = [[]]
    placed: set[int] = set()
    for line, owner in zip(lines, owners, strict=True):
        if owner is None:
            segment = flow[-1]
            if isinstance(segment, PdfTable):
                flow.append([line])
            else:
                segment.append(line)
        elif owner not in placed:
            placed.add(owner)
            flow.append(tables[owner])
    flow.extend(t for i, t in enumerate(tables) if i not in placed)
    return [s for s in flow if isinstance(s, PdfTable) or s]
