"""ODT, ODS and ODP, built with odfpy: headings, paragraphs, lists, tables, sheets, slides and notes."""

from __future__ import annotations

import io

import pytest
from odf.draw import Frame, Page, TextBox
from odf.opendocument import (
    OpenDocumentPresentation,
    OpenDocumentSpreadsheet,
    OpenDocumentText,
)
from odf.presentation import Notes
from odf.style import MasterPage, PageLayout
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import H, List, ListItem, P, S, Span
from tests.ingest.loaders._office_testdata import BILLION_LAUGHS, bomb, deep_xml, rezip

from ragd.errors import DocumentArchiveTooLarge, DocumentEntities, DocumentTooDeep
from ragd.ingest.loaders import ODP, ODS, ODT, LoaderLimits, load_document, sniff_type


def _save(doc: OpenDocumentText | OpenDocumentSpreadsheet | OpenDocumentPresentation) -> bytes:
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def _table(name: str, rows: list[list[str]], *, repeat_last_row: int = 1) -> Table:
    table = Table(name=name)
    table.addElement(TableColumn(numbercolumnsrepeated=len(rows[0])))
    for i, cells in enumerate(rows):
        attrs = {"numberrowsrepeated": repeat_last_row} if i == len(rows) - 1 and repeat_last_row > 1 else {}
        tr = TableRow(**attrs)
        for text in cells:
            tc = TableCell()
            if text:
                tc.addElement(P(text=text))
            tr.addElement(tc)
        # a row runs to the sheet's edge with one repeated empty cell, as LibreOffice writes it
        tr.addElement(TableCell(numbercolumnsrepeated=16000))
        table.addElement(tr)
    return table


def build_odt() -> bytes:
    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Handbook"))
    para = P(text="Welcome to")
    para.addElement(S(c=1))
    para.addElement(Span(text="the team."))
    doc.text.addElement(para)
    doc.text.addElement(H(outlinelevel=2, text="Tools"))
    lst = List()
    for text in ("Laptop", "Badge"):
        item = ListItem()
        item.addElement(P(text=text))
        lst.addElement(item)
    doc.text.addElement(lst)
    doc.text.addElement(_table("Contacts", [["Name", "Role"], ["Ada", "Lead"]]))
    return _save(doc)


def test_odt_headings_paragraphs_lists_tables() -> None:
    data = build_odt()
    assert sniff_type(data, "x.zip") == ODT
    doc = load_document(data, "handbook.odt")
    assert doc.mime == ODT and doc.title == "Handbook"
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "Handbook"),
        ("paragraph", 0, "Welcome to the team."),
        ("heading", 2, "Tools"),
        ("list", 0, "- Laptop\n- Badge"),
        ("table", 0, "| Name | Role |\n|---|---|\n| Ada | Lead |"),
    ]
    assert doc.blocks[4].heading_path == ["Handbook", "Tools"] and doc.blocks[4].header_lines == 2


def test_ods_one_table_per_sheet_with_repeats_bounded() -> None:
    doc = OpenDocumentSpreadsheet()
    doc.spreadsheet.addElement(
        _table("Budget", [["Item", "Cost"], ["Servers", "1200"], ["", ""]], repeat_last_row=1_048_000)
    )
    doc.spreadsheet.addElement(_table("Staff", [["Name", "Team"], ["Ada", "Ops"], ["Bob", "Ops"]], repeat_last_row=2))
    data = _save(doc)
    assert sniff_type(data, "x.bin") == ODS
    parsed = load_document(data, "budget.ods")
    assert [(b.kind, b.text) for b in parsed.blocks] == [
        ("heading", "Budget"),
        ("table", "| Item | Cost |\n|---|---|\n| Servers | 1200 |"),
        ("heading", "Staff"),
        ("table", "| Name | Team |\n|---|---|\n| Ada | Ops |\n| Bob | Ops |\n| Bob | Ops |"),
    ]


def build_odp() -> bytes:
    doc = OpenDocumentPresentation()
    layout = PageLayout(name="L")
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="M", pagelayoutname=layout)
    doc.masterstyles.addElement(master)
    for title, body, notes in [("Welcome", "Agenda for today", "Smile"), ("Results", "Revenue grew 12%", None)]:
        page = Page(masterpagename=master)
        for cls, text in (("title", title), ("outline", body)):
            frame = Frame(**{"class": cls}, width="20cm", height="3cm", x="1cm", y="1cm")
            box = TextBox()
            box.addElement(P(text=text))
            frame.addElement(box)
            page.addElement(frame)
        if notes:
            note = Notes()
            frame = Frame(**{"class": "notes"}, width="20cm", height="3cm", x="1cm", y="1cm")
            box = TextBox()
            box.addElement(P(text=notes))
            frame.addElement(box)
            note.addElement(frame)
            page.addElement(note)
        doc.presentation.addElement(page)
    return _save(doc)


def test_odp_slides_are_pages_with_notes() -> None:
    data = build_odp()
    assert sniff_type(data, "deck") == ODP
    doc = load_document(data, "deck.odp")
    assert doc.pages == 2
    assert [(b.kind, b.page, b.text) for b in doc.blocks] == [
        ("heading", 1, "Slide 1: Welcome"),
        ("paragraph", 1, "Agenda for today"),
        ("paragraph", 1, "Speaker notes: Smile"),
        ("heading", 2, "Slide 2: Results"),
        ("paragraph", 2, "Revenue grew 12%"),
    ]


@pytest.mark.parametrize("build", [build_odt, build_odp])
def test_hostile_odf_packages_are_refused(build) -> None:  # type: ignore[no-untyped-def]
    data = build()
    with pytest.raises(DocumentArchiveTooLarge):
        load_document(bomb(data, "Pictures/pad.bin"), "bomb.odt")
    with pytest.raises(DocumentTooDeep):
        load_document(rezip(data, {"content.xml": deep_xml(150)}), "deep.odt")
    with pytest.raises(DocumentEntities):
        load_document(rezip(data, {"content.xml": BILLION_LAUGHS}), "lol.odt")


def test_ods_wide_repeated_rows_stop_at_the_scan_budget() -> None:
    doc = OpenDocumentSpreadsheet()
    table = Table(name="Wide")
    row = TableRow(numberrowsrepeated=1_000_000)
    row.addElement(TableCell(numbercolumnsrepeated=16_000))  # empty up to the sheet's edge, then one value
    cell = TableCell()
    cell.addElement(P(text="edge"))
    row.addElement(cell)
    table.addElement(row)
    doc.spreadsheet.addElement(table)
    parsed = load_document(_save(doc), "wide.ods", limits=LoaderLimits(max_sheet_cells=1000))
    assert "RAGD_OFFICE__MAX_SHEET_CELLS" in parsed.blocks[-1].text
    assert parsed.text.count("edge") < 1000
