"""Sentence segmentation with character offsets (English and French punctuation, Markdown table rows)."""

from __future__ import annotations

import re

# A sentence ends at . ! ? … (optionally followed by closing quotes/brackets) before whitespace and a capital, at a
# blank line, or before a line that starts a table row or a list item. Other line breaks (PDF line wrapping) are not
# boundaries.
_END = re.compile(
    r"(?<=[.!?…])([\"'»”)\]]*)\s+(?=[\"'«“(\[]?[A-ZÀ-ÖØ-Þ0-9])"  # sentence punctuation, then a capital
    r"|\n[ \t]*\n\s*"  # a blank line
    r"|\n(?=[ \t]*(?:[|•\-*·▪◦]|\d{1,3}[.)]\s))"  # a line starting a table row or a list item
)
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|Mr|Mrs|Ms|Dr|Prof|St|vs|cf|p|pp|fig|no|vol|M|Mme)\.|\b[A-Z]\.)$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the sentences of ``text``, stripped of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        end = m.start() + len(m.group(1) or "")
        if "\n" not in m.group(0) and _ABBREV.search(text[start:end]):
            continue
        _add(text, start, end, spans)
        start = m.end()
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
