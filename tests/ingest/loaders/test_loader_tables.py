"""Tables come out as Markdown tables whose cells match the groundtruth (docling's Markdown output)."""

from __future__ import annotations

import re

import pytest
from tests.ingest.loaders._loader_testdata import (
    FIXTURES,
    GROUNDTRUTH,
    assert_offsets,
    markdown_tables,
    table_blocks,
)

from ragd.ingest.loaders import load_document


def _norm(cell: str) -> str:
    """Whitespace collapsed and list markers dropped (docling renders lists inside cells as "- item")."""
    return " ".join(t for t in cell.split() if t != "-")


def _norm_table(rows: list[list[str]]) -> list[list[str]]:
    return [[_norm(c) for c in row] for row in rows]


@pytest.mark.parametrize("name", ["word_tables.docx", "word_sample.docx"])
def test_docx_tables_match_groundtruth(name: str) -> None:
    doc = load_document((FIXTURES / "docx" / name).read_bytes(), name)
    assert_offsets(doc)
    expected = markdown_tables((GROUNDTRUTH / f"{name}.docling.md").read_text())
    assert table_blocks(doc) == expected


@pytest.mark.parametrize("n", range(1, 7))
def test_html_tables_match_groundtruth(n: int) -> None:
    name = f"table_0{n}.html"
    doc = load_document((FIXTURES / "html" / name).read_bytes(), name)
    assert_offsets(doc)
    expected = markdown_tables((GROUNDTRUTH / f"{name}.docling.md").read_text())
    assert [_norm_table(t) for t in table_blocks(doc)] == [_norm_table(t) for t in expected]
    assert doc.title == "Header"
    assert [b.kind for b in doc.blocks] == ["heading", "paragraph", "table", "paragraph"]
    assert doc.blocks[-1].text == "After table"
    assert doc.blocks[2].heading_path == ["Header"]


def test_html_spans_repeat_cells() -> None:
    html = b"""<table><tr><th>Year</th><th colspan="2">Sales</th></tr>
    <tr><td rowspan="2">2024</td><td>Q1</td><td>10 | 12</td></tr><tr><td>Q2</td><td>11</td></tr></table>"""
    doc = load_document(html, "t.html")
    assert doc.blocks[0].text.split("\n") == [
        "| Year | Sales | Sales |",
        "|---|---|---|",
        "| 2024 | Q1 | 10 \\| 12 |",
        "| 2024 | Q2 | 11 |",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "csv-comma.csv",
        "csv-semicolon.csv",
        "csv-pipe.csv",
        "csv-tab.csv",
        "csv-comma-in-cell.csv",
        "csv-single-column.csv",
        "csv-too-few-columns.csv",
        "csv-too-many-columns.csv",
        "csv-inconsistent-header.csv",
    ],
)
def test_csv_matches_groundtruth(name: str) -> None:
    doc = load_document((FIXTURES / "csv" / name).read_bytes(), name)
    assert_offsets(doc)
    (table,) = table_blocks(doc)
    (expected,) = markdown_tables((GROUNDTRUTH / f"{name}.docling.md").read_text())
    # Whitespace inside a cell (a tab in csv-pipe/csv-tab) is flattened to one space; docling writes a pipe
    # inside a cell as "&#124;", we escape it as "\\|" (which the table reader unescapes).
    assert table == [[" ".join(c.replace("&#124;", "|").split()) for c in row] for row in expected]


def test_big_csv_keeps_every_row_under_its_header() -> None:
    path = FIXTURES / "csv/nics-firearm-background-checks.csv"
    doc = load_document(path.read_bytes(), path.name)
    (block,) = doc.blocks
    assert block.kind == "table" and block.header_lines == 2
    lines = block.text.split("\n")
    assert lines[0].startswith("| month | state | permit | permit_recheck | handgun |")
    source_rows = [r for r in path.read_text().split("\n")[1:] if r.strip()]
    assert len(lines) - 2 == len(source_rows) == doc.metadata["rows"] == 16445
    assert re.match(r"^\| \d{4}-\d{2} \| \w", lines[2])


def test_utf16_csv_and_emoji_tsv_decode() -> None:
    utf16 = load_document((FIXTURES / "csv/stanley-cups-utf-16.csv").read_bytes(), "stanley-cups-utf-16.csv")
    assert "| Maple Leafs | TOR | 13 |" in utf16.text
    assert "\x00" not in utf16.text
    emoji = load_document((FIXTURES / "csv/stanley-cups-with-emoji.tsv").read_bytes(), "cups.tsv")
    assert emoji.mime == "text/tab-separated-values"
    assert "| 👨\\U+1F3FB🔧 | TOR | 15 |" in emoji.text
    assert emoji.text.split("\n")[0] == "| Stanley Cups |  |  |"
