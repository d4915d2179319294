"""Cutting one over-budget Markdown table into chunks: between rows only, the header lines repeated in each.

The first chunk of a table is an exact slice of the document (leading headings, header, first rows). A
continuation chunk's text is ``header + "\\n" + rows`` and its span covers the rows. A row over the budget
stays whole in a chunk of its own (over the budget) unless it is over four budgets; then it is cut at word
boundaries, each piece again under the header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragd.ingest._chunk_count import Out
from ragd.ingest._chunk_text import TokenMap, split_words

if TYPE_CHECKING:
    from ragd.ingest.chunking import _Packer, _Piece

_HUGE_ROW_FACTOR = 4


def split_table(
    packer: _Packer,
    header_lines: int,
    lines: list[tuple[int, int, int]],
    page: int | None,
    lead: list[_Piece],
    lead_tokens: int,
) -> bool:
    """Emit a table as chunks through ``packer``; ``lines`` are its ``(start, end, tokens)`` lines and
    ``lead`` the headings that go with the first chunk.

    Returns ``False`` (nothing emitted) when the table has no header or no rows to cut between, or when its
    header alone takes more than half the budget (repeating it would leave rows no room: the caller then cuts the
    table like prose).
    """
    text, counter, budget = packer.text, packer.counter, packer.max
    h = header_lines
    if h <= 0 or len(lines) <= h:
        return False
    head_n = sum(n for _, _, n in lines[:h])
    if head_n > budget // 2:
        return False
    header_start, header_end = lines[0][0], lines[h - 1][1]
    header = text[header_start:header_end]
    rows = [(s, e) for s, e, _ in lines[h:]]
    row_n = [n for _, _, n in lines[h:]]
    pages = [page] if page is not None else []
    first = True

    def emit(rs: int, re_: int, body_start: int | None, est: int, check: bool = False) -> None:
        """Rows ``text[rs:re_]``; the first chunk is the slice from ``body_start`` (headings or header)."""
        nonlocal first
        path = list(packer.path)
        if first:
            s = body_start if body_start is not None else header_start
            est += lead_tokens
            first_pages = pages + [p.page for p in lead if p.page is not None]
            packer.emit(Out(text[s:re_], s, re_, first_pages, path, True, est + head_n, check))
        else:
            body = f"{header}\n{text[rs:re_]}"
            packer.emit(Out(body, rs, re_, list(pages), path, True, est + head_n, check))
        first = False

    alone_over = budget < head_n + row_n[0] <= _HUGE_ROW_FACTOR * budget  # first chunk over budget anyway
    if lead and lead_tokens + head_n + row_n[0] > budget and not alone_over:
        # the headings cannot share the first chunk within the budget: they stand alone
        s, e = lead[0].start, lead[-1].end
        lead_pages = [p.page for p in lead if p.page is not None]
        packer.emit(Out(text[s:e], s, e, lead_pages, list(packer.path), False, lead_tokens, True))
        lead, lead_tokens = [], 0
    lead_start = lead[0].start if lead else None

    i = 0
    while i < len(rows):
        used = head_n + (lead_tokens if first else 0)
        j = i
        while j < len(rows) and used + row_n[j] <= budget:
            used += row_n[j]
            j += 1
        if j > i:
            emit(rows[i][0], rows[j - 1][1], lead_start, used - head_n - (lead_tokens if first else 0))
            i = j
            continue
        # rows[i] alone does not fit under the header
        if row_n[i] <= _HUGE_ROW_FACTOR * budget:
            emit(rows[i][0], rows[i][1], lead_start, row_n[i])
        else:
            tm = TokenMap.build(text, rows[i][0], rows[i][1], counter)
            tm.bounds = []  # a row is cut at words, never "sentences" inside a cell
            for s, e, n in split_words(tm, max(budget - head_n, 1)):
                emit(s, e, lead_start, n, check=True)
        i += 1
    return True
