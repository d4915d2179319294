"""XLSX loader (openpyxl, read-only, formulas' cached values): one table per sheet under the sheet's name.

The header row is the sheet's first non-empty row; empty rows and columns are trimmed; at most
``office.max_sheet_cells`` non-empty cells are read from the whole workbook (a note says when more were left).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from ragd.errors import DocumentCorrupt
from ragd.models import ParsedDocument

from ._build import DocBuilder, collapse
from ._safezip import open_zip, refuse_ole2, scan_parts
from ._sheets import CellBudget, cell_text, emit_sheets
from .detect import XLSX


def _sheets(wb: openpyxl.Workbook, budget: CellBudget) -> Iterator[tuple[str, list[list[str]]]]:
    for ws in wb.worksheets:
        rows: list[list[str]] = []
        if not budget.exhausted:
            # the declared dimension can claim A1:XFD1048576: never pad rows to it (gaps still cost, see CellBudget)
            ws.reset_dimensions()
            for values in ws.iter_rows(values_only=True):
                row = [cell_text(v) for v in values]
                if not budget.take(row):
                    break
                rows.append(row)
        yield collapse(ws.title) or "Sheet", rows


def load_xlsx(data: bytes, filename: str) -> ParsedDocument:
    """One heading and one table per worksheet (chart sheets have no cells and are skipped)."""
    refuse_ole2(data, "XLSX")
    with open_zip(data, "XLSX") as zf:
        scan_parts(zf)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions, styles, data validation
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, KeyError) as exc:
        raise DocumentCorrupt(f"the XLSX workbook could not be opened: {exc}") from exc
    builder = DocBuilder(XLSX)
    budget = CellBudget()
    try:
        emit_sheets(builder, _sheets(wb, budget), budget)
        title = collapse(wb.properties.title or "") if wb.properties is not None else ""
    finally:
        wb.close()
    return builder.build(title=title or None, empty_reason="the workbook's sheets contain no cells with text")
