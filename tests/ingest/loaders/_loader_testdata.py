"""Shared helpers for the loader tests: where the evaluation fixtures live and how to read Markdown tables."""

from __future__ import annotations

import re
from pathlib import Path

from ragd.models import ParsedDocument

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "evaldata" / "fixtures"
GROUNDTRUTH = FIXTURES / "groundtruth"
FORMAT_DIRS = ("pdf", "pdf-fr", "pdf-scanned", "docx", "html", "md", "csv")

_SEPARATOR = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+\s*$")
_CELL = re.compile(r"(?<!\\)\|")


def fixture_files() -> list[Path]:
    return sorted(p for d in FORMAT_DIRS for p in (FIXTURES / d).iterdir() if p.is_file())


def split_row(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    return [c.strip().replace("\\|", "|") for c in _CELL.split(inner)]


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table in ``text`` as rows of cells (the separator line dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.split("\n"), ""]:
        if line.strip().startswith("|") and line.strip().endswith("|"):
            if not _SEPARATOR.match(line.strip()):
                current.append(split_row(line))
        elif current:
            tables.append(current)
            current = []
    return tables


def table_blocks(doc: ParsedDocument) -> list[list[list[str]]]:
    return [markdown_tables(b.text)[0] for b in doc.blocks if b.kind == "table"]


def assert_offsets(doc: ParsedDocument) -> None:
    """The Block contract: offsets index the text, blocks joined by a blank line, tables well formed."""
    assert doc.blocks, "a loaded document has at least one block"
    assert doc.text == "\n\n".join(b.text for b in doc.blocks)
    previous_end = -2
    for b in doc.blocks:
        assert doc.text[b.start : b.end] == b.text
        assert b.start == previous_end + 2
        previous_end = b.end
        assert b.text.strip()
        if b.kind == "heading":
            assert b.heading_path and b.heading_path[-1] == b.text and b.level >= 1
        if b.kind == "table":
            lines = b.text.split("\n")
            assert b.header_lines == 2
            assert _SEPARATOR.match(lines[1]), lines[1]
            width = len(split_row(lines[0]))
            assert all(len(split_row(line)) == width for line in lines), "every row has the header's width"
