"""Tables on a PDF page, found from the layout of PDFium's text runs (no second PDF parser).

PDFium splits a page's text into runs (``FPDFText_CountRects``): one per line of prose, one per cell in a
table, since a table's cells are separate text objects placed apart. Runs are grouped into visual rows by their
vertical centre; within a row, runs closer than about a glyph height are one cell. A table is a stretch of at
least three consecutive rows that each have two cells or more, whose cells are short (prose set in columns has
long lines) and fall into the same columns. Columns come from the rows with the most cells; a cell spanning
several columns (a group header) goes to the first column it overlaps. The first row is the header row.

``page_flow`` then puts each table at its place among the page's text lines, and the lines inside a table's box
leave the flow, so text above and below stays in order and no cell is repeated as a paragraph.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pypdfium2 as pdfium

from ._build import clean_controls, collapse

# A gap between two runs of one row wider than this many run heights separates two cells.
_CELL_GAP = 1.0
# Rows further apart than this many run heights end a table.
_ROW_GAP = 2.5
_MIN_ROWS = 3
# A table's cells are short: above this median number of words per cell the block is prose in columns.
_MAX_CELL_WORDS = 5
# Columns all wider than this share of the table, mostly filled by their lines, are prose set in columns.
_WIDE_COLUMN = 0.25
# Pages with more runs than this (maps, drawings of text) are not searched.
_MAX_RUNS = 6000

Box = tuple[float, float, float, float]  # left, bottom, right, top (PDF points, y up)
L = TypeVar("L")


@dataclass(slots=True)
class PdfTable:
    """A table found on a page: its rows (the first is the header) and its box."""

    rows: list[list[str]]
    bbox: Box


@dataclass(slots=True)
class _Cell:
    left: float
    right: float
    runs: list[Box] = field(default_factory=list)


@dataclass(slots=True)
class _Row:
    centre: float
    height: float
    runs: list[Box] = field(default_factory=list)
    cells: list[_Cell] = field(default_factory=list)

    @property
    def top(self) -> float:
        return max(r[3] for r in self.runs)

    @property
    def bottom(self) -> float:
        return min(r[1] for r in self.runs)


def _runs(textpage: pdfium.PdfTextPage) -> list[Box]:
    count = textpage.count_rects()
    if count < _MIN_ROWS * 2 or count > _MAX_RUNS:
        return []
    runs = []
    for i in range(count):
        left, bottom, right, top = textpage.get_rect(i)
        if right > left and top > bottom:
            runs.append((left, bottom, right, top))
    return runs


def _visual_rows(runs: list[Box]) -> list[_Row]:
    rows: list[_Row] = []
    for run in sorted(runs, key=lambda r: -(r[1] + r[3])):
        centre, height = (run[1] + run[3]) / 2, run[3] - run[1]
        row = rows[-1] if rows else None
        if row is not None and abs(row.centre - centre) <= 0.5 * min(row.height, height):
            row.runs.append(run)
            continue
        rows.append(_Row(centre, height, [run]))
    for row in rows:
        row.height = statistics.median(r[3] - r[1] for r in row.runs)
        for run in sorted(row.runs, key=lambda r: r[0]):
            last = row.cells[-1] if row.cells else None
            if last is not None and run[0] - last.right < _CELL_GAP * row.height:
                last.right = max(last.right, run[2])
                last.runs.append(run)
            else:
                row.cells.append(_Cell(run[0], run[2], [run]))
    return rows


def _stretches(rows: list[_Row]) -> list[list[_Row]]:
    """Runs of consecutive multi-cell rows, close to each other."""
    found: list[list[_Row]] = []
    current: list[_Row] = []
    pending: _Row | None = None  # one single-cell row (a wrapped header, a group label) inside a table
    for row in rows:
        last = pending or (current[-1] if current else None)
        close = last is not None and last.bottom - row.top <= _ROW_GAP * max(row.height, last.height)
        if len(row.cells) >= 2 and (close or not current):
            if pending is not None and close:
                current.append(pending)
            current.append(row)
            pending = None
            continue
        if current and close and pending is None:
            pending = row
            continue
        if len(current) >= _MIN_ROWS:
            found.append(current)
        current = [row] if len(row.cells) >= 2 else []
        pending = None
    if len(current) >= _MIN_ROWS:
        found.append(current)
    return found


def _columns(rows: list[_Row]) -> list[tuple[float, float]]:
    """Column intervals from the rows with the most cells (spanning header cells would merge columns)."""
    widest = max(len(r.cells) for r in rows)
    full = [r for r in rows if len(r.cells) >= max(2, widest - 1)]
    spans = sorted((c.left, c.right) for r in full for c in r.cells)
    columns: list[list[float]] = []
    for left, right in spans:
        if columns and left <= columns[-1][1]:
            columns[-1][1] = max(columns[-1][1], right)
        else:
            columns.append([left, right])
    return [(a, b) for a, b in columns]


def _column_of(cell: _Cell, columns: list[tuple[float, float]]) -> int:
    best, best_overlap = 0, -1.0
    for i, (left, right) in enumerate(columns):
        overlap = min(right, cell.right) - max(left, cell.left)
        if overlap > best_overlap + 1e-6:
            best, best_overlap = i, overlap
    return best


def _prose_columns(rows: list[_Row], columns: list[tuple[float, float]]) -> bool:
    """Text set in columns: every column is wide and most lines fill their column."""
    width = columns[-1][1] - columns[0][0]
    if any(right - left < _WIDE_COLUMN * width for left, right in columns):
        return False
    cells = [c for r in rows for c in r.cells]
    full = 0
    for cell in cells:
        left, right = columns[_column_of(cell, columns)]
        full += cell.right - cell.left >= 0.8 * (right - left)
    return full >= 0.6 * len(cells)


def _merge_header(grid: list[list[str]]) -> list[list[str]]:
    """Header text wrapped over several lines: the rows above the first row as full as a typical row are one
    header row."""
    filled = [sum(1 for c in r if c) for r in grid]
    typical = statistics.median(filled)
    first = next((i for i, n in enumerate(filled) if n >= typical), 0)
    if first == 0 or first >= len(grid) - 2:
        return grid
    header = [" ".join(r[i] for r in grid[: first + 1] if r[i]) for i in range(len(grid[0]))]
    return [header, *grid[first + 1 :]]


def _cell_text(textpage: pdfium.PdfTextPage, cell: _Cell) -> str:
    parts = []
    for left, bottom, right, top in sorted(cell.runs, key=lambda r: (-r[3], r[0])):
        raw = textpage.get_text_bounded(left, bottom, right, top)
        parts.append(clean_controls(raw.replace("\x02", "-").replace("\ufffe", "-")))
    return collapse(" ".join(parts))


def _table(textpage: pdfium.PdfTextPage, rows: list[_Row]) -> PdfTable | None:
    columns = _columns(rows)
    if len(columns) < 2 or (len(columns) == 2 and len(rows) < _MIN_ROWS + 1):
        return None
    grid: list[list[str]] = []
    words: list[int] = []
    for row in rows:
        cells = [""] * len(columns)
        for cell in row.cells:
            text = _cell_text(textpage, cell)
            words.append(len(text.split()))
            col = _column_of(cell, columns)
            cells[col] = f"{cells[col]} {text}".strip()
        grid.append(cells)
    if statistics.median(words) > _MAX_CELL_WORDS or _prose_columns(rows, columns):
        return None
    grid = _merge_header(grid)
    used = [i for i in range(len(columns)) if any(r[i] for r in grid)]
    grid = [[r[i] for i in used] for r in grid]
    if len(used) < 2:
        return None
    runs = [run for r in rows for run in r.runs]
    bbox = (min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs), max(r[3] for r in runs))
    return PdfTable(grid, bbox)


def find_tables(textpage: pdfium.PdfTextPage) -> list[PdfTable]:
    """The tables on one page, top to bottom. Caller holds PDFium's lock."""
    runs = _runs(textpage)
    if not runs:
        return []
    tables = []
    for stretch in _stretches(_visual_rows(runs)):
        table = _table(textpage, stretch)
        if table is not None:
            tables.append(table)
    return tables


def _inside(box: Box, x: float, y: float) -> bool:
    return box[0] - 1 <= x <= box[2] + 1 and box[1] - 1 <= y <= box[3] + 1


def line_tables(textpage: pdfium.PdfTextPage, raw: str, tables: Sequence[PdfTable]) -> list[int | None]:
    """For each line of ``raw`` (split on CRLF, as the loader does), the index of the table whose box holds
    its first glyph, or ``None``. Caller holds PDFium's lock."""
    owners: list[int | None] = []
    pos = 0
    for piece in raw.split("\r\n"):
        start = pos
        pos += len(piece) + 2
        owner = None
        if piece.strip():
            first = start + (len(piece) - len(piece.lstrip()))
            try:
                left, bottom, right, top = textpage.get_charbox(first)
            except Exception:
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
