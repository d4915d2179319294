"""ODS loader: one table per sheet under the sheet's name, from content.xml (hardened parser, ``_safezip``).

Cells give their displayed text (formulas' last computed values); repeated cells and rows are expanded within
the cell budget (``office.max_sheet_cells``); empty rows and columns are trimmed."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ragd.models import ParsedDocument

from ._build import DocBuilder, collapse
from ._odf import TABLE, TABLE_T, open_body, q, table_rows
from ._safezip import open_zip, refuse_ole2
from ._sheets import CellBudget, emit_sheets
from .detect import ODS


def _sheets(body: etree._Element, budget: CellBudget) -> Iterator[tuple[str, list[list[str]]]]:
    for n, table in enumerate(body.iter(TABLE_T), 1):
        if table.getparent() is not body:
            continue  # a table inside a cell's text or a shape is not a sheet
        rows = [] if budget.exhausted else table_rows(table, budget.take)
        yield collapse(table.get(q(TABLE, "name")) or "") or f"Sheet{n}", rows


def load_ods(data: bytes, filename: str) -> ParsedDocument:
    """One heading and one table per sheet."""
    refuse_ole2(data, "ODS")
    with open_zip(data, "ODS") as zf:
        body = open_body(zf, "spreadsheet", "ODS")
    builder = DocBuilder(ODS)
    budget = CellBudget()
    emit_sheets(builder, _sheets(body, budget), budget)
    return builder.build(empty_reason="the spreadsheet's sheets contain no cells with text")
