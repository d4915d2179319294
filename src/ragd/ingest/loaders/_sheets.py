"""What the spreadsheet loaders (XLSX, ODS) share: cell values as text, trimming empty rows and columns, the cell
budget (``office.max_sheet_cells``) and one table per sheet under the sheet's name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from ._build import DocBuilder, collapse
from ._limits import current_limits

SCAN_FACTOR = 20


def cell_text(value: object) -> str:
    """A cell's value as a reader sees it: ``3`` not ``3.0``, dates in ISO form, booleans as TRUE/FALSE."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds").removesuffix(" 00:00:00")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return collapse(str(value))


def trim(rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """Drop rows and columns with no text at all (around and between the data)."""
    kept = [list(r) for r in rows if any(c.strip() for c in r)]
    if not kept:
        return []
    width = max(len(r) for r in kept)
    for r in kept:
        r.extend([""] * (width - len(r)))
    used = [j for j in range(width) if any(r[j].strip() for r in kept)]
    return [[r[j] for j in used] for r in kept]


class CellBudget:
    """Counts cells over a whole document; ``exhausted`` once ``office.max_sheet_cells`` non-empty cells, or
    :data:`SCAN_FACTOR` times as many cells and rows scanned (empty ones included: a sheet whose one cell sits in
    its last column and row costs its whole width and height to read), are reached."""

    def __init__(self) -> None:
        self.limit = current_limits().max_sheet_cells
        self.scan_limit = self.limit * SCAN_FACTOR
        self.used = 0
        self.scanned = 0
        self.exhausted = False

    def take(self, row: Sequence[str]) -> bool:
        """Count ``row``'s cells; ``False`` (and the row is not to be kept) when it would pass a limit."""
        cells = sum(1 for c in row if c)
        scanned = max(1, len(row))
        if self.used + cells > self.limit or self.scanned + scanned > self.scan_limit:
            self.exhausted = True
            return False
        self.used += cells
        self.scanned += scanned
        return True

    def note(self, builder: DocBuilder) -> None:
        """Say in the text that the document was cut short, if it was."""
        if self.exhausted:
            builder.add(
                "paragraph",
                f"[ragd: the document was truncated after {self.used} cells (setting RAGD_OFFICE__MAX_SHEET_CELLS)]",
            )


def emit_sheets(builder: DocBuilder, sheets: Iterable[tuple[str, list[list[str]]]], budget: CellBudget) -> None:
    """One heading (the sheet's name) and one table (first row = header) per sheet with any text."""
    for name, rows in sheets:
        grid = trim(rows)
        if not grid:
            continue
        builder.heading(name, 1)
        if len(grid) == 1 or max(len(r) for r in grid) == 1:
            builder.add("paragraph", "\n".join(" ".join(c for c in r if c) for r in grid))
        else:
            builder.table(grid)
    budget.note(builder)
