"""Checkable citations for model-written answers.

A model cites sources as ``[n]`` (also ``[1, 2]`` or ``[1][2]``). After generation, every marker is checked
against the sources the prompt numbered: a valid ``[n]`` becomes a :class:`~ragd.generate.base.Citation` of
source ``n`` (document, page, passage text and its offsets in the document's extracted text; ``marker == n``),
a marker naming no source is removed, and an answer left with no valid citation becomes
:data:`~ragd.generate.base.NO_ANSWER` (``found`` false) rather than an uncited claim.

:class:`MarkerFilter` applies the same rule to a token stream, so the streamed text never shows a marker that
the final answer drops.
"""

from __future__ import annotations

import re

from ragd.generate.base import NO_ANSWER, Answer, Citation, attached_to_of
from ragd.generate.prompts import Source

_MARKER = re.compile(r"\[\s*(\d{1,4}(?:\s*[,;]\s*\d{1,4})*)\s*\]")
_OPEN_MAX = 24  # a '[' not closed within this many characters is plain text


def rewrite_markers(text: str, valid: set[int]) -> str:
    """``[1, 9]`` → ``[1]`` when only 1 is a source; ``[9]`` → removed; other brackets untouched."""

    def one(m: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", m.group(1))]
        kept = [n for n in dict.fromkeys(numbers) if n in valid]
        return "".join(f"[{n}]" for n in kept)

    return _MARKER.sub(one, text)


def cited_numbers(text: str) -> list[int]:
    """Source numbers cited in ``text``, in order of first appearance."""
    out: dict[int, None] = {}
    for m in _MARKER.finditer(text):
        for n in re.split(r"\s*[,;]\s*", m.group(1)):
            out.setdefault(int(n), None)
    return list(out)


def citation_for(source: Source) -> Citation:
    c = source.hit.chunk
    cut = len(source.text) < len(c.text)
    is_slice = c.end - c.start == len(c.text)
    end = c.start + len(source.text) if cut and is_slice else c.end
    score = source.hit.similarity if source.hit.similarity is not None else source.hit.score
    return Citation(
        marker=source.number, document_id=c.document_id, filename=c.filename, chunk_id=c.id, page=c.page_start,
        text=source.text, start=c.start, end=end, score=round(float(score), 4), heading_path=list(c.heading_path),
        attached_to=attached_to_of(c.metadata),
    )


def resolve(text: str, sources: list[Source], model: str) -> Answer:
    """The checked answer for a model's raw ``text`` over the prompt's ``sources``."""
    by_number = {s.number: s for s in sources}
    clean = rewrite_markers(text, set(by_number)).strip()
    numbers = [n for n in cited_numbers(clean) if n in by_number]
    if not numbers or NO_ANSWER.rstrip(".").lower() in clean.lower():
        return Answer(NO_ANSWER, [], False, model)
    return Answer(clean, [citation_for(by_number[n]) for n in numbers], True, model)


class MarkerFilter:
    """Rewrites citation markers in a stream of text pieces, holding back only a possibly unfinished ``[…``."""

    def __init__(self, valid: set[int]) -> None:
        self._valid = valid
        self._pending = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        self._pending = ""
        cut = text.rfind("[")
        if cut != -1 and "]" not in text[cut:] and len(text) - cut < _OPEN_MAX:
            tail = text[cut + 1 :]
            if re.fullmatch(r"[\d\s,;]*", tail):  # could still become a marker
                text, self._pending = text[:cut], text[cut:]
        return rewrite_markers(text, self._valid)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return rewrite_markers(text, self._valid)
