"""RTF loader (striprtf): the text's paragraphs. RTF has no reliable page or heading structure to keep."""

from __future__ import annotations

from striprtf.striprtf import rtf_to_text

from ragd.errors import DocumentEmpty
from ragd.models import ParsedDocument

from ._build import DocBuilder, clean_controls, collapse
from .detect import RTF


def load_rtf(data: bytes, filename: str) -> ParsedDocument:
    """One paragraph block per line of text (an RTF ``\\par``); tables' cells come out separated by ``|``."""
    if not data.strip():
        raise DocumentEmpty("the RTF file is empty (0 bytes)")
    # RTF is 7-bit: other characters are escapes (\'e9, \u233?) that striprtf decodes with the code page given
    source = data.decode("latin-1")
    text = rtf_to_text(source, errors="replace")
    builder = DocBuilder(RTF)
    for line in clean_controls(text).split("\n"):
        builder.add("paragraph", collapse(line))
    return builder.build(empty_reason="the RTF document contains no text")
