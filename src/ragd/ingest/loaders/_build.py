"""Helpers every loader shares: a block builder that keeps offsets right, and Markdown table rendering."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ragd.errors import DocumentEmpty
from ragd.models import Block, BlockKind, ParsedDocument

SEPARATOR = "\n\n"
_WS = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def collapse(text: str) -> str:
    """All runs of whitespace (newlines included) become one space; ends stripped."""
    return _WS.sub(" ", text).strip()


def clean_controls(text: str) -> str:
    """Drop control characters other than tab and newline."""
    return _CONTROL.sub("", text)


def _cell(value: str) -> str:
    return collapse(value).replace("|", "\\|")


def markdown_table(rows: Sequence[Sequence[str]]) -> str | None:
    """Render rows (the first is the header) as a Markdown table; ``None`` when there is no text at all.

    Short rows are padded with blank cells to the widest row. Cell text is flattened to one line and ``|``
    escaped, so the result always has ``header_lines == 2`` and then exactly one line per row.
    """
    if not rows:
        return None
    width = max(len(r) for r in rows)
    if width == 0:
        return None
    if not any(c.strip() for r in rows for c in r):
        return None
    lines = []
    for i, row in enumerate(rows):
        cells = [_cell(c) for c in row]
        cells.extend([""] * (width - len(cells)))
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "---|" * width)
    return "\n".join(lines)


class DocBuilder:
    """Appends blocks joined by a blank line and tracks offsets and the heading path."""

    def __init__(self, mime: str) -> None:
        self.mime = mime
        self._parts: list[str] = []
        self._pos = 0
        self.blocks: list[Block] = []
        self._stack: list[tuple[int, str]] = []
        self.first_h1: str | None = None
        self.first_heading: str | None = None

    def heading(self, text: str, level: int, *, page: int | None = None) -> Block | None:
        text = collapse(text)
        if not text:
            return None
        level = max(1, min(level, 9))
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))
        if level == 1 and self.first_h1 is None:
            self.first_h1 = text
        if self.first_heading is None:
            self.first_heading = text
        return self._append("heading", text, page=page, level=level)

    def add(
        self, kind: BlockKind, text: str, *, page: int | None = None, header_lines: int = 0
    ) -> Block | None:
        """Append a non-heading block; whitespace-only text is ignored. Returns the block or ``None``."""
        if kind == "heading":
            raise ValueError("use heading() for headings")
        text = text.strip("\n").rstrip()
        if kind not in ("code", "table"):
            text = text.strip()
        if not text.strip():
            return None
        return self._append(kind, text, page=page, header_lines=header_lines)

    def table(self, rows: Sequence[Sequence[str]], *, page: int | None = None) -> Block | None:
        md = markdown_table(rows)
        if md is None:
            return None
        return self._append("table", md, page=page, header_lines=2)

    def _append(
        self, kind: BlockKind, text: str, *, page: int | None, level: int = 0, header_lines: int = 0
    ) -> Block:
        if self._parts:
            self._parts.append(SEPARATOR)
            self._pos += len(SEPARATOR)
        start = self._pos
        self._parts.append(text)
        self._pos += len(text)
        block = Block(
            kind=kind,
            text=text,
            start=start,
            end=self._pos,
            page=page,
            heading_path=[t for _, t in self._stack],
            level=level,
            header_lines=header_lines,
        )
        self.blocks.append(block)
        return block

    def build(
        self,
        *,
        pages: int | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        empty_reason: str = "the document contains no text",
    ) -> ParsedDocument:
        """The parsed document; raises ``DocumentEmpty`` when no block was added."""
        if not self.blocks:
            raise DocumentEmpty(empty_reason)
        return ParsedDocument(
            text="".join(self._parts),
            blocks=self.blocks,
            pages=pages,
            title=title if title else self.first_h1,
            mime=self.mime,
            metadata=metadata or {},
        )
