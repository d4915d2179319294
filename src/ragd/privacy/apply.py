"""Where redaction is applied: a parsed document before chunking, answers and their citations before users see them.

Each hook takes ``enabled`` as an argument (the caller decides — today from :class:`~ragd.config.PrivacySettings`,
per collection later) and returns its input untouched when it is false.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Collection, Iterator

from ragd.generate.base import Answer, GenEvent, Token
from ragd.models import Block, ParsedDocument
from ragd.privacy.pii import DEFAULT_REGIONS, PLACEHOLDERS, PiiMatch, apply_redaction, find_pii, redact
from ragd.privacy.stream import StreamRedactor
from ragd.retrieve.service import Retrieval

CollectionPrivacy = Callable[[str, list[str]], dict[str, tuple[bool | None, bool | None]]]
"""``(tenant_id, collection names) -> {name: (redact_ingest, redact_answers)}``: per-collection overrides, ``None``
meaning "follow the global setting" (:meth:`ragd.auth.identities.IdentityStore.collection_privacy`)."""


def effective(own: bool | None, operator: bool) -> bool:
    """A collection's redaction flag as applied: the operator's ``privacy`` setting, which a collection's own flag
    may tighten (``True``) but never loosen (a stored ``False`` counts only while the operator's setting is off)."""
    return operator or own is True


class _OffsetMap:
    """Maps offsets of a text to offsets of its redaction. An offset strictly inside a match maps to the start of
    its placeholder when it opens a span and to the end when it closes one, so a span keeps the whole placeholder."""

    def __init__(self, matches: list[PiiMatch]) -> None:
        self._ends = [m.end for m in matches]
        self._matches = matches
        self._shift: list[int] = []  # cumulative length change after each match
        total = 0
        for m in matches:
            total += len(PLACEHOLDERS[m.kind]) - (m.end - m.start)
            self._shift.append(total)

    def __call__(self, pos: int, *, closing: bool) -> int:
        i = bisect.bisect_right(self._ends, pos)  # matches ending at or before pos
        before = self._shift[i - 1] if i else 0
        if i < len(self._matches) and self._matches[i].start < pos:  # inside match i
            m = self._matches[i]
            return m.start + before + (len(PLACEHOLDERS[m.kind]) if closing else 0)
        return pos + before


def redact_document(
    parsed: ParsedDocument, enabled: bool, kinds: Collection[str] | None = None,
    regions: Collection[str] = DEFAULT_REGIONS,
) -> ParsedDocument:
    """The document with personal data replaced by placeholders in its text, blocks, headings and title.

    Block structure is kept: the same blocks in the same order with the same kinds, pages and levels (matches never
    span a line break, so a table keeps its rows), and offsets re-pointed into the redacted text, so
    ``text[b.start:b.end] == b.text`` holds afterwards whenever it held before.
    """
    if not enabled:
        return parsed
    matches = find_pii(parsed.text, kinds, regions)
    text = apply_redaction(parsed.text, matches)
    at = _OffsetMap(matches)
    blocks: list[Block] = []
    for b in parsed.blocks:
        start, end = at(b.start, closing=False), at(b.end, closing=True)
        exact = parsed.text[b.start:b.end] == b.text
        blocks.append(dataclasses.replace(
            b, text=text[start:end] if exact else redact(b.text, kinds, regions), start=start, end=end,
            heading_path=[redact(h, kinds, regions) for h in b.heading_path],
        ))
    title = redact(parsed.title, kinds, regions) if parsed.title else parsed.title
    return dataclasses.replace(parsed, text=text, blocks=blocks, title=title)


def redact_answer(
    ans: Answer, enabled: bool, kinds: Collection[str] | None = None, regions: Collection[str] = DEFAULT_REGIONS
) -> Answer:
    """The answer with its text and every citation's snippet and headings redacted. Citation offsets still point
    into the document's stored text (``GET /api/v1/documents/{id}/text``)."""
    if not enabled:
        return ans
    cites = [dataclasses.replace(c, text=redact(c.text, kinds, regions),
                                 heading_path=[redact(h, kinds, regions) for h in c.heading_path])
             for c in ans.citations]
    return dataclasses.replace(ans, text=redact(ans.text, kinds, regions), citations=cites)


def redact_retrieval(
    retrieval: Retrieval, enabled: bool, kinds: Collection[str] | None = None,
    regions: Collection[str] = DEFAULT_REGIONS,
) -> Retrieval:
    """Search results whose passage texts and headings are redacted (copies; the store's chunks are untouched)."""
    if not enabled:
        return retrieval
    hits = [dataclasses.replace(h, chunk=dataclasses.replace(
        h.chunk, text=redact(h.chunk.text, kinds, regions),
        heading_path=[redact(x, kinds, regions) for x in h.chunk.heading_path],
    )) for h in retrieval.hits]
    return dataclasses.replace(retrieval, hits=hits)


def redact_events(
    events: Iterator[GenEvent], enabled: bool, kinds: Collection[str] | None = None,
    regions: Collection[str] = DEFAULT_REGIONS,
) -> Iterator[GenEvent]:
    """A generator's stream with redacted tokens and final answer. The tokens' concatenation equals the redaction
    of the raw tokens' concatenation (a token may be held back until the words after it show whether it is part
    of an identifier). Closing this iterator closes ``events``."""
    if not enabled:
        return events
    return _redacted_events(events, kinds, regions)


def _redacted_events(
    events: Iterator[GenEvent], kinds: Collection[str] | None, regions: Collection[str]
) -> Iterator[GenEvent]:
    redactor = StreamRedactor(kinds, regions)
    try:
        for ev in events:
            if isinstance(ev, Token):
                out = redactor.feed(ev.text)
                if out:
                    yield Token(out)
            else:
                tail = redactor.flush()
                if tail:
                    yield Token(tail)
                yield redact_answer(ev, True, kinds, regions)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
