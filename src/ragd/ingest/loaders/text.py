"""Plain-text loader: encoding detection, paragraphs split on blank lines."""

from __future__ import annotations

import re

from ragd.errors import DocumentEmpty
from ragd.models import ParsedDocument

from ._build import DocBuilder, clean_controls
from ._decode import decode_text
from .detect import TEXT

_BLANK_LINES = re.compile(r"\n[ \t\f\v]*\n")


def load_text(data: bytes, filename: str) -> ParsedDocument:
    """One paragraph block per run of non-blank lines."""
    if not data.strip():
        raise DocumentEmpty("the file is empty" if not data else "the file contains only whitespace")
    text = clean_controls(decode_text(data).replace("\f", "\n\n"))
    builder = DocBuilder(TEXT)
    for para in _BLANK_LINES.split(text):
        builder.add("paragraph", "\n".join(line.rstrip() for line in para.split("\n")))
    return builder.build(empty_reason="the file contains only whitespace")
