"""XLSX: one table per sheet under its name, header row kept, formulas' cached values, trimming, cell budget."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from tests.ingest.loaders._office_testdata import BILLION_LAUGHS, bomb, rezip

from ragd.errors import DocumentArchiveTooLarge, DocumentEntities
from ragd.ingest.loaders import XLSX, LoaderLimits, load_document, sniff_type


def _with_cached_value(data: bytes, formula: str, value: str) -> bytes:
    """openpyxl writes formulas without a computed value; Excel and LibreOffice save one (``<v>``) beside the
    formula: add it as they do, so the file is what a real saved workbook looks like."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    sheet = sheet.replace(f"<f>{formula}</f><v></v>", f"<f>{formula}</f><v>{value}</v>")
    sheet = sheet.replace(f"<f>{formula}</f><v />", f"<f>{formula}</f><v>{value}</v>")
    return rezip(data, {"xl/worksheets/sheet1.xml": sheet.encode()})


def build_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Budget"
    ws.append([None])  # an empty first row and column, trimmed away
    ws.append([None, "Item", "Cost", "Date"])
    ws.append([None, "Laptops", 1200, dt.date(2026, 3, 1)])
    ws.append([None, "Monitors", 300.5, None])
    ws.append([None, "Total", "=SUM(C3:C4)", None])
    notes = wb.create_sheet("Notes")
    notes["A1"] = "Approved by the board"
    buf = io.BytesIO()
    wb.save(buf)
    return _with_cached_value(buf.getvalue(), "SUM(C3:C4)", "1500.5")


def test_each_sheet_is_a_table_under_its_name_with_cached_formula_values() -> None:
    data = build_xlsx()
    assert sniff_type(data, "upload.bin") == XLSX
    doc = load_document(data, "budget.xlsx")
    assert doc.mime == XLSX and doc.pages is None
    assert [(b.kind, b.text) for b in doc.blocks[:1]] == [("heading", "Budget")]
    table = doc.blocks[1]
    assert table.kind == "table" and table.header_lines == 2 and table.heading_path == ["Budget"]
    assert table.text.split("\n") == [
        "| Item | Cost | Date |",
        "|---|---|---|",
        "| Laptops | 1200 | 2026-03-01 |",
        "| Monitors | 300.5 |  |",
        "| Total | 1500.5 |  |",
    ]
    assert [(b.kind, b.text) for b in doc.blocks[2:]] == [("heading", "Notes"), ("paragraph", "Approved by the board")]


def test_the_cell_budget_truncates_with_a_note() -> None:
    wb = openpyxl.Workbook()
    for i in range(100):
        wb.active.append([f"r{i}", i])
    buf = io.BytesIO()
    wb.save(buf)
    doc = load_document(buf.getvalue(), "big.xlsx", limits=LoaderLimits(max_sheet_cells=50))
    table = next(b for b in doc.blocks if b.kind == "table")
    assert len(table.text.split("\n")) == 1 + 25  # 25 rows of 2 cells and the header separator
    assert "truncated after 50 cells" in doc.blocks[-1].text and "RAGD_OFFICE__MAX_SHEET_CELLS" in doc.blocks[-1].text


def test_hostile_xlsx_packages_are_refused() -> None:
    data = build_xlsx()
    with pytest.raises(DocumentArchiveTooLarge, match="zip bomb"):
        load_document(bomb(data, "xl/media/pad.bin"), "bomb.xlsx")
    with pytest.raises(DocumentEntities):
        load_document(rezip(data, {"xl/worksheets/sheet2.xml": BILLION_LAUGHS}), "lol.xlsx")


def test_a_sheet_claiming_its_whole_grid_is_read_by_its_cells() -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "first"
    wb.active["XFD100000"] = "last"  # the dimension becomes A1:XFD100000: 1.6 billion cells if padded
    buf = io.BytesIO()
    wb.save(buf)
    doc = load_document(buf.getvalue(), "corners.xlsx")
    assert "first" in doc.text and "last" in doc.text and "truncated" not in doc.text
