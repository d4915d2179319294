"""Chunking a parsed document with its pages kept apart, and the text a chunk is embedded with."""

from __future__ import annotations

from itertools import groupby

from ragd.embed.base import TokenCounter
from ragd.ingest.chunking import chunk_document
from ragd.models import ChunkDraft, ParsedDocument


def with_context(text: str, heading_path: list[str]) -> str:
    """The chunk text prefixed with its heading path, unless the chunk already starts with its own heading."""
    headings = [h for h in heading_path if h]
    if not headings or text.lstrip().startswith(headings[-1]):
        headings = headings[:-1] if headings else headings
        if not headings:
            return text
    return " > ".join(headings) + "\n\n" + text


def chunk_pages(
    parsed: ParsedDocument, counter: TokenCounter, *, max_tokens: int, overlap_tokens: int
) -> list[ChunkDraft]:
    """Chunk a paged document page by page, so that a chunk — and every citation drawn from it — lies on exactly
    one page; other documents are chunked whole."""
    if not parsed.pages or parsed.pages <= 1:
        return chunk_document(parsed, counter, max_tokens=max_tokens, overlap_tokens=overlap_tokens)
    chunks: list[ChunkDraft] = []
    for _page, blocks in groupby(parsed.blocks, key=lambda b: b.page):
        part = ParsedDocument(text=parsed.text, blocks=list(blocks), pages=parsed.pages, mime=parsed.mime)
        for c in chunk_document(part, counter, max_tokens=max_tokens, overlap_tokens=overlap_tokens):
            c.ordinal = len(chunks)
            chunks.append(c)
    return chunks
