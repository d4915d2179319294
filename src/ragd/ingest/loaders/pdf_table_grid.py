"""Cleaning a PDF table's grid of cells: the checks that tell a table from code or numbered prose by the
cells' text, empty and split columns, and header lines wrapped over several rows."""

from __future__ import annotations

import itertools
import re
import statistics

Columns = list[tuple[float, float]]
Grid = list[list[str]]

# Above this share of cells with braces, semicolons or calls, the block is source code.
_MAX_CODE_CELLS = 0.3
_CODE = re.compile(r"[{};]|\w\(")


def not_tabular(cells: list[str]) -> bool:
    """Source code (braces, semicolons, calls) or right-to-left text, whose spaced glyph runs look
    like cells: PDFium gives these in visual order, not as a table."""
    code = sum(1 for c in cells if _CODE.search(c))
    letters = [ch for c in cells for ch in c if ch.isalpha()]
    rtl = sum(1 for ch in letters if "\u0590" <= ch <= "\u08ff" or "\ufb1d" <= ch <= "\ufeff")
    return code > _MAX_CODE_CELLS * len(cells) or rtl > 0.5 * max(1, len(letters))


def merge_columns(grid: Grid, columns: Columns, height: float) -> Grid:
    """Drop empty columns; join neighbours that no row fills both of and that nearly touch (a header set left
    of its right-aligned numbers)."""
    keep: list[int] = []
    for i in range(len(columns)):
        if not any(r[i] for r in grid):
            continue
        j = keep[-1] if keep else None
        if j is not None and columns[i][0] - columns[j][1] < 1.5 * height and not any(r[i] and r[j] for r in grid):
            for r in grid:
                r[j] = r[j] or r[i]
            continue
        keep.append(i)
    return [[r[i] for i in keep] for r in grid]


def numbered_lines(grid: Grid) -> bool:
    """Prose with line numbers in the margin (a transcript, a bill): the first column counts up by one and the
    rest fills a single column."""
    numbers = [r[0] for r in grid if r[0]]
    if len(numbers) < 0.8 * len(grid) or not all(n.isdigit() for n in numbers):
        return False
    if any(int(b) != int(a) + 1 for a, b in itertools.pairwise(numbers)):
        return False
    return sum(1 for i in range(1, len(grid[0])) if meaningful(grid, i)) < 2


def meaningful(grid: Grid, column: int) -> bool:
    """Most of the column's cells hold a letter or digit (not a column of colons or bullets)."""
    filled = [r[column] for r in grid if r[column]]
    return 2 * sum(1 for c in filled if any(ch.isalnum() for ch in c)) >= len(filled) > 0


def merge_header(grid: Grid) -> Grid:
    """Header text wrapped over several lines: the rows above the first row as full as a typical row are one
    header row."""
    filled = [sum(1 for c in r if c) for r in grid]
    typical = statistics.median(filled)
    first = next((i for i, n in enumerate(filled) if n >= typical), 0)
    if first <= 1 or first >= len(grid) - 2:
        return grid
    header = [" ".join(r[i] for r in grid[:first] if r[i]) for i in range(len(grid[0]))]
    return [header, *grid[first:]]
