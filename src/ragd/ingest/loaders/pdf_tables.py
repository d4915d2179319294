"""Tables on a PDF page, found from the layout of PDFium's text (no second PDF parser).

PDFium splits a page's text into runs (``FPDFText_CountRects``): one per line of prose, one per cell or per
glyph in a table, since a table's cells are separate text objects placed apart. Runs are grouped into visual
rows by their vertical centre; within a row, runs closer than about a glyph height are one cell. A candidate
table is a stretch of at least three close rows that each have two cells or more (one single-cell row, such as
a wrapped header, may sit inside). Only then are the page's glyph boxes read, and the candidate's rows are cut
into cells again from the glyphs themselves (a text object may hold several cells spaced apart).

Columns come from the typical full rows; a cell spanning several columns (a group header) goes to the column
it overlaps most. A candidate is kept when its columns are real: not prose set in columns (wide columns filled
by long lines), not cells reaching over the gutters, short cells, not source code nor right-to-left text (whose
glyph runs PDFium gives spaced). Header lines above the first full row are joined into one header row.

``pdf_flow.page_flow`` then puts each table at its place among the page's text lines.
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import operator
import statistics
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ._build import clean_controls
from .pdf_table_grid import meaningful, merge_columns, merge_header, not_tabular, numbered_lines

Box = tuple[float, float, float, float]  # left, bottom, right, top (PDF points, y up)
Columns = list[tuple[float, float]]

# A gap between two runs (or glyphs) of one row wider than this many glyph heights separates two cells.
_CELL_GAP = 1.0
# ...unless it is the next glyph of the text, after at most one space: then up to this many cell gaps.
_WORD_GAP = 2.0
# Rows further apart than this many glyph heights end a table.
_ROW_GAP = 2.5
_MIN_ROWS = 3
_MAX_COLUMNS = 60
# Rows of a table do not overlap; above this share of overlapping neighbours the stretch is formulas.
_MAX_OVERLAPPING = 0.2
# A table's grid is mostly filled: below this share of non-empty cells the columns are not real.
_MIN_FILLED = 0.4
# Pages with more runs than this (maps, drawings of text) are not searched.
_MAX_RUNS = 8000
# A table's cells are short: above this median number of words per cell the block is prose in columns.
_MAX_CELL_WORDS = 5
# Columns all wider than this share of the table, mostly filled by their lines, are prose set in columns.
_WIDE_COLUMN = 0.25
# Above this share of cells reaching over a gutter (group headers do), the columns are not real.
_MAX_CROSSING = 0.15


@dataclass(slots=True)
class PdfTable:
    """A table found on a page: its rows (the first is the header) and its box."""

    rows: list[list[str]]
    bbox: Box


@dataclass(slots=True)
class _Cell:
    left: float
    right: float
    chars: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Row:
    centre: float
    height: float
    bottom: float
    top: float
    runs: list[Box] = field(default_factory=list)
    cells: list[_Cell] = field(default_factory=list)


def _runs(textpage: pdfium.PdfTextPage) -> list[Box]:
    count = textpage.count_rects()
    if count < _MIN_ROWS * 2 or count > _MAX_RUNS:
        return []
    runs = []
    left, top, right, bottom = (ctypes.c_double() for _ in range(4))
    get_rect = pdfium_c.FPDFText_GetRect
    for i in range(count):
        if get_rect(textpage, i, left, top, right, bottom) and right.value > left.value and top.value > bottom.value:
            runs.append((left.value, bottom.value, right.value, top.value))
    return runs


def _visual_rows(runs: list[Box]) -> list[_Row]:
    rows: list[_Row] = []
    for run in sorted(runs, key=lambda r: -(r[1] + r[3])):
        centre, height = (run[1] + run[3]) / 2, run[3] - run[1]
        row = rows[-1] if rows else None
        if row is not None and row.bottom - 0.2 * row.height <= centre <= row.top:  # within the row's span
            row.runs.append(run)
            if run[1] < row.bottom:
                row.bottom = run[1]
            if run[3] > row.top:
                row.top = run[3]
            continue
        rows.append(_Row(centre, height, run[1], run[3], [run]))
    for row in rows:
        if len(row.runs) == 1:
            run = row.runs[0]
            row.cells.append(_Cell(run[0], run[2]))
            continue
        row.height = statistics.median(r[3] - r[1] for r in row.runs)
        gap = _CELL_GAP * row.height
        last = None
        for left, _b, right, _t in sorted(row.runs):
            if last is not None and left - last.right < gap:
                last.right = max(last.right, right)
            else:
                last = _Cell(left, right)
                row.cells.append(last)
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


class _Glyphs:
    """The boxes of a page's visible glyphs, read once and only for a page with a candidate table."""

    def __init__(self, textpage: pdfium.PdfTextPage, raw: str, spans: list[tuple[float, float]]) -> None:
        """Read the glyphs of the text lines whose first glyph lies in one of the vertical ``spans``."""
        self.raw = raw
        self._box = (ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double())
        self._textpage = textpage
        found: list[tuple[float, float, float, float, int]] = []  # centre y, left, right, height, index
        pos = 0
        for piece in raw.split("\r\n"):
            start, pos = pos, pos + len(piece) + 2
            first = start + len(piece) - len(piece.lstrip())
            box = self._read(first) if first < start + len(piece) else None
            if box is None or not any(lo <= box[0] <= hi for lo, hi in spans):
                continue
            found.extend(self._read_line(first, start + len(piece)))
        found.sort()
        self.items = found
        self.keys = [g[0] for g in found]

    def _read_line(self, first: int, end: int) -> list[tuple[float, float, float, float, int]]:
        """The glyphs ``first``..``end`` (spaces and empty boxes left out); the hot loop of a table page."""
        raw, textpage = self.raw, self._textpage
        left, right, bottom, top = self._box
        get_box = pdfium_c.FPDFText_GetCharBox
        out = []
        for i in range(first, end):
            if raw[i].isspace() or not get_box(textpage, i, left, right, bottom, top):
                continue
            x0, x1, y0, y1 = left.value, right.value, bottom.value, top.value
            if x1 > x0 and y1 > y0:
                out.append(((y0 + y1) / 2, x0, x1, y1 - y0, i))
        return out

    def _read(self, index: int) -> tuple[float, float, float, float] | None:
        left, right, bottom, top = self._box
        if not pdfium_c.FPDFText_GetCharBox(self._textpage, index, left, right, bottom, top):
            return None
        if right.value <= left.value or top.value <= bottom.value:
            return None
        return (bottom.value + top.value) / 2, left.value, right.value, top.value - bottom.value

    def rows_cells(self, rows: list[_Row]) -> None:
        """Rebuild the cells of ``rows`` from the glyphs of the stretch's box, each in the row of nearest centre."""
        left = min(r[0] for row in rows for r in row.runs) - 0.5
        right = max(r[2] for row in rows for r in row.runs) + 0.5
        lo = bisect.bisect_left(self.keys, min(r.bottom for r in rows) - 0.5)
        hi = bisect.bisect_right(self.keys, max(r.top for r in rows) + 0.5)
        centres = [-r.centre for r in rows]  # rows run top to bottom
        per_row: list[list[tuple[float, float, float, float, int]]] = [[] for _ in rows]
        n, find = len(rows), bisect.bisect_left
        for glyph in self.items[lo:hi]:
            if not left <= (glyph[1] + glyph[2]) / 2 <= right:
                continue
            i = find(centres, -glyph[0])
            if i == n or (i > 0 and centres[i] + glyph[0] > -glyph[0] - centres[i - 1]):
                i -= 1
            per_row[i].append(glyph)
        by_left = operator.itemgetter(1)
        for row, found in zip(rows, per_row, strict=True):
            if not found:
                continue
            found.sort(key=by_left)
            row.cells = cells = []
            gap = _CELL_GAP * row.height
            last: _Cell | None = None
            for _cy, left, right, _h, index in found:
                if last is not None and (left - last.right < gap or self._joined(last, left, index, gap)):
                    if right > last.right:
                        last.right = right
                    last.chars.append(index)
                else:
                    last = _Cell(left, right, [index])
                    cells.append(last)

    def _joined(self, cell: _Cell, left: float, index: int, gap: float) -> bool:
        """The glyph continues ``cell``: close to it, or next in the text with at most one space between
        (words set wide, as in a monospaced transcript) and not far."""
        distance = left - cell.right
        if distance < gap:
            return True
        step = index - cell.chars[-1]
        follows = step == 1 or (step == 2 and self.raw[index - 1] == " ")
        return follows and distance < _WORD_GAP * gap

    def text(self, cell: _Cell) -> str:
        if not cell.chars:
            return ""
        raw = self.raw
        chars = sorted(cell.chars)
        parts = [raw[chars[0]]]
        for previous, index in itertools.pairwise(chars):
            parts.append(raw[index] if index == previous + 1 else " " + raw[index])
        text = "".join(parts)
        if not text.isprintable():
            text = clean_controls(text.replace("\x02", "-").replace("\ufffe", "-"))
        return " ".join(text.split())


def _columns(rows: list[_Row]) -> Columns:
    """Column intervals from the typical full rows: spanning header cells would merge columns, and the rare rows
    with more cells than most (rotated header text, stray marks) would split them."""
    counts = sorted(len(r.cells) for r in rows)
    typical = counts[int(0.75 * (len(counts) - 1))]
    spans = sorted((c.left, c.right) for r in rows if max(2, typical - 1) <= len(r.cells) <= typical for c in r.cells)
    columns: list[list[float]] = []
    for left, right in spans:
        if columns and left <= columns[-1][1]:
            columns[-1][1] = max(columns[-1][1], right)
        else:
            columns.append([left, right])
    return [(a, b) for a, b in columns]


def _overlapped(cell: _Cell, columns: Columns, lefts: list[float]) -> range:
    """Indices of the columns ``cell`` overlaps (empty when it sits in a gutter)."""
    first = max(0, bisect.bisect_right(lefts, cell.left) - 1)
    if columns[first][1] <= cell.left:
        first += 1
    return range(first, bisect.bisect_left(lefts, cell.right))


def _column_of(cell: _Cell, columns: Columns, span: range) -> int:
    """The column a cell goes to: the one it overlaps most, or the nearest when it sits in a gutter."""
    if len(span) == 1:
        return span[0]
    if not span:  # in a gutter: the nearest column
        return min(
            range(len(columns)), key=lambda i: min(abs(columns[i][0] - cell.right), abs(columns[i][1] - cell.left))
        )
    return max(span, key=lambda i: min(columns[i][1], cell.right) - max(columns[i][0], cell.left))


def _prose_columns(rows: list[_Row], columns: Columns, lefts: list[float]) -> bool:
    """Text set in columns: every column is wide and most lines fill their column, or there are just two wide
    columns (an index, a glossary laid out in two columns)."""
    width = columns[-1][1] - columns[0][0]
    if any(right - left < _WIDE_COLUMN * width for left, right in columns):
        return False
    if len(columns) == 2:
        return True
    cells = [c for r in rows for c in r.cells]
    full = 0
    for cell in cells:
        left, right = columns[_column_of(cell, columns, _overlapped(cell, columns, lefts))]
        full += cell.right - cell.left >= 0.8 * (right - left)
    return full >= 0.6 * len(cells)


def _crossing(spans: list[range]) -> bool:
    """Too many cells reach over a gutter between columns: the columns are not real (code, drawings)."""
    return sum(1 for span in spans if len(span) > 1) > _MAX_CROSSING * len(spans)


def _table(glyphs: _Glyphs, rows: list[_Row]) -> PdfTable | None:
    glyphs.rows_cells(rows)
    columns = _columns(rows)
    if not 2 <= len(columns) <= _MAX_COLUMNS or (len(columns) == 2 and len(rows) < _MIN_ROWS + 1):
        return None
    lefts = [a for a, _ in columns]
    spans = [[_overlapped(c, columns, lefts) for c in r.cells] for r in rows]
    if _prose_columns(rows, columns, lefts) or _crossing([s for row in spans for s in row]):
        return None
    grid: list[list[str]] = []
    texts: list[str] = []
    for row, row_spans in zip(rows, spans, strict=True):
        cells = [""] * len(columns)
        for cell, span in zip(row.cells, row_spans, strict=True):
            text = glyphs.text(cell)
            texts.append(text)
            col = _column_of(cell, columns, span)
            cells[col] = f"{cells[col]} {text}" if cells[col] else text
        grid.append(cells)
    texts = [t for t in texts if t]
    if len(texts) < _MIN_FILLED * len(rows) * len(columns):
        return None
    if not texts or statistics.median(len(t.split()) for t in texts) > _MAX_CELL_WORDS or not_tabular(texts):
        return None
    grid = merge_columns(grid, columns, statistics.median(r.height for r in rows))
    if sum(1 for i in range(len(grid[0])) if meaningful(grid, i)) < 2 or numbered_lines(grid):
        return None
    bbox = (
        min(c.left for r in rows for c in r.cells),
        min(r.bottom for r in rows),
        max(c.right for r in rows for c in r.cells),
        max(r.top for r in rows),
    )
    return PdfTable(merge_header(grid), bbox)


def find_tables(textpage: pdfium.PdfTextPage, raw: str) -> list[PdfTable]:
    """The tables on one page, top to bottom; ``raw`` is the page's whole text, one character per PDFium
    character. Caller holds PDFium's lock."""
    runs = _runs(textpage)
    stretches = _stretches(_visual_rows(runs)) if runs else []
    if not stretches:
        return []
    stretches = [s for s in stretches if _plausible(s)]
    if not stretches:
        return []
    spans = [
        (min(r.bottom for r in st) - 2 * st[0].height, max(r.top for r in st) + 2 * st[0].height) for st in stretches
    ]
    glyphs = _Glyphs(textpage, raw, spans)
    return [t for t in (_table(glyphs, s) for s in stretches) if t is not None]


def _plausible(rows: list[_Row]) -> bool:
    """The cheap test on runs, before any glyph is read: columns there, and not prose set in columns."""
    overlapping = sum(1 for a, b in itertools.pairwise(rows) if b.top - a.bottom > 0.3 * min(a.height, b.height))
    if overlapping > _MAX_OVERLAPPING * (len(rows) - 1):
        return False  # sub- and superscripts: a formula, not rows of a table
    columns = _columns(rows)
    return len(columns) >= 2 and not _prose_columns(rows, columns, [a for a, _ in columns])
