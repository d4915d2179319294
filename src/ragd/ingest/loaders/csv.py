"""CSV/TSV loader: encoding and delimiter detection, the whole file as one Markdown table block."""

from __future__ import annotations

import csv
import io
from collections import Counter

from ragd.errors import DocumentCorrupt, DocumentEmpty
from ragd.models import ParsedDocument

from ._build import DocBuilder
from ._decode import decode_text
from .detect import CSV, TSV

DELIMITERS = (",", ";", "\t", "|")
# A row wider than the header widens the table (blank header cells), up to this many columns; cells past it
# are folded into the last column so nothing is lost.
MAX_COLUMNS = 512
_SAMPLE_LINES = 50

csv.field_size_limit(16 * 1024 * 1024)


def _score(sample: str, delimiter: str) -> tuple[float, int]:
    """(share of rows with the most common field count, that count) for one candidate delimiter."""
    try:
        rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
    except csv.Error:
        return 0.0, 0
    if not rows:
        return 0.0, 0
    width, freq = Counter(len(r) for r in rows).most_common(1)[0]
    return freq / len(rows), width


def sniff_delimiter(text: str, preferred: str = ",") -> str:
    """The delimiter among comma, semicolon, tab and pipe that splits the first lines most consistently."""
    sample = "\n".join(text.split("\n", _SAMPLE_LINES)[:_SAMPLE_LINES])
    best, best_key = preferred, (0.0, 0, 0)
    for d in DELIMITERS:
        share, width = _score(sample, d)
        if width < 2:
            continue
        key = (round(share, 2), 1 if d == preferred else 0, width)
        if key > best_key:
            best, best_key = d, key
    return best


def _cell(value: str) -> str:
    return " ".join(value.split()).replace("|", "\\|")


def load_csv(data: bytes, filename: str) -> ParsedDocument:
    """A header row and one Markdown line per data row; ragged rows are padded, never dropped."""
    return _load(data, filename, CSV, ",")


def load_tsv(data: bytes, filename: str) -> ParsedDocument:
    return _load(data, filename, TSV, "\t")


def _load(data: bytes, filename: str, mime: str, preferred: str) -> ParsedDocument:
    if not data.strip():
        raise DocumentEmpty("the file is empty" if not data else "the file contains only whitespace")
    text = decode_text(data)
    delimiter = sniff_delimiter(text, preferred)
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise DocumentCorrupt(f"the delimited file could not be parsed: {exc}") from exc
    if not rows:
        raise DocumentEmpty("the file contains no rows with text")
    width = min(max(len(r) for r in rows), MAX_COLUMNS)
    lines: list[str] = []
    for i, row in enumerate(rows):
        if len(row) > width:
            row = [*row[: width - 1], " ".join(row[width - 1 :])]
        cells = [_cell(c) for c in row]
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "---|" * width)
    builder = DocBuilder(mime)
    builder.add("table", "\n".join(lines), header_lines=2)
    delimiter_name = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[delimiter]
    return builder.build(metadata={"rows": len(rows) - 1, "columns": width, "delimiter": delimiter_name})
