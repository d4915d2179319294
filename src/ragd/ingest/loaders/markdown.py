"""Markdown loader: ATX and setext headings, paragraphs, fenced code, pipe tables, lists."""

from __future__ import annotations

import re

from ragd.models import ParsedDocument

from ._build import DocBuilder, clean_controls
from ._decode import decode_text
from .detect import MARKDOWN

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_TABLE_DELIM = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_THEMATIC = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(line)]


def _is_table_start(lines: list[str], i: int) -> bool:
    return (
        i + 1 < len(lines)
        and "|" in lines[i]
        and "-" in lines[i + 1]
        and _TABLE_DELIM.match(lines[i + 1]) is not None
        and ("|" in lines[i + 1] or len(_cells(lines[i])) == 1)
    )


def _front_matter_end(lines: list[str]) -> int:
    """Index after a leading ``---`` YAML block, or 0."""
    if lines and lines[0].strip() == "---":
        for j in range(1, min(len(lines), 200)):
            if lines[j].strip() in ("---", "..."):
                return j + 1
    return 0


def _starts_block(line: str) -> bool:
    return bool(_ATX.match(line) or _FENCE.match(line) or _THEMATIC.match(line))


def parse_markdown(text: str, builder: DocBuilder) -> None:
    lines = text.split("\n")
    i = _front_matter_end(lines)
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            j = i + 1
            while j < n and not lines[j].lstrip().startswith(marker[0] * len(marker)):
                j += 1
            body = lines[i + 1 : j]
            if any(b.strip() for b in body):
                builder.add("code", "\n".join(lines[i : min(j + 1, n)]))
            i = j + 1
            continue
        atx = _ATX.match(line)
        if atx:
            builder.heading(atx.group(2) or "", len(atx.group(1)))
            i += 1
            continue
        if _THEMATIC.match(line):
            i += 1
            continue
        if _is_table_start(lines, i):
            rows = [_cells(line)]
            j = i + 2
            while j < n and lines[j].strip() and "|" in lines[j]:
                rows.append(_cells(lines[j]))
                j += 1
            builder.table(rows)
            i = j
            continue
        if _LIST.match(line):
            j = i + 1
            while j < n:
                cur = lines[j]
                if not cur.strip():
                    # A blank line continues the list only if an item or an indented line follows.
                    k = j
                    while k < n and not lines[k].strip():
                        k += 1
                    if k < n and (_LIST.match(lines[k]) or lines[k][:1] in (" ", "\t")):
                        j = k
                        continue
                    break
                if _starts_block(cur) and not cur[:1].isspace():
                    break
                j += 1
            items = [ln.rstrip() for ln in lines[i:j] if ln.strip()]
            builder.add("list", "\n".join(items))
            i = j
            continue
        if line.startswith(("    ", "\t")):
            j = i
            while j < n and (lines[j].startswith(("    ", "\t")) or not lines[j].strip()):
                j += 1
            builder.add("code", "\n".join(ln.rstrip() for ln in lines[i:j]))
            i = j
            continue
        # A paragraph: up to a blank line, a new block, or a setext underline (which makes it a heading).
        j = i
        para: list[str] = []
        level = 0
        while j < n and lines[j].strip():
            cur = lines[j]
            if para:
                setext = _SETEXT.match(cur)
                if setext:
                    level = 1 if setext.group(1).startswith("=") else 2
                    j += 1
                    break
                if (
                    _starts_block(cur)
                    or _is_table_start(lines, j)
                    or (_LIST.match(cur) and not cur[:1].isspace())
                ):
                    break
            para.append(cur.strip())
            j += 1
        if level:
            builder.heading(" ".join(para), level)
        else:
            builder.add("paragraph", "\n".join(para))
        i = j


def load_markdown(data: bytes, filename: str) -> ParsedDocument:
    """Blocks of a Markdown file; block text keeps its Markdown inline syntax."""
    text = clean_controls(decode_text(data))
    builder = DocBuilder(MARKDOWN)
    parse_markdown(text, builder)
    return builder.build(empty_reason="the Markdown file contains no text")
