"""Redaction of text that arrives in pieces (a model's answer, token by token).

A piece may end in the middle of an e-mail address or between the groups of a phone number, so
:class:`StreamRedactor` holds back the tail that could still grow into a match: the last word if no whitespace
follows it yet, and the run of words before it that could be groups of a spaced number (any word holding a digit,
or upper-case letters such as an IBAN's ``NWBK``). Everything before is final and is emitted redacted. A word of
ordinary letters ends such a run, so the held text stays short (a few words) in prose.

Contract: for any split of a text into pieces, ``"".join(r.feed(p) for p in pieces) + r.flush()`` equals
:func:`~ragd.privacy.pii.redact` of the whole text.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ragd.privacy.pii import DEFAULT_REGIONS, apply_redaction, find_pii

_WORD = re.compile(r"\S+")
_GROUPISH = re.compile(r"\S*\d\S*|[A-Z0-9+()\-./:]+")
"""A word that could be part of a spaced identifier: holds a digit, or only capitals and number punctuation."""
_LEFT = 32
"""Characters of already-emitted text kept as look-behind context for the detectors."""


class StreamRedactor:
    def __init__(self, kinds: Collection[str] | None = None, regions: Collection[str] = DEFAULT_REGIONS) -> None:
        self._kinds = kinds
        self._regions = regions
        self._pending = ""
        self._left = ""

    def feed(self, piece: str) -> str:
        """Add ``piece``; return the text that is now final, redacted (possibly empty)."""
        buf = self._pending + piece
        words = list(_WORD.finditer(buf))
        cut = len(buf)
        if words:
            i = len(words) - 1
            if words[i].end() == len(buf):  # the last word may not be finished
                cut = words[i].start()
                i -= 1
            # a run of number-like words just before the cut (or at the very end) may be groups of one number
            while i >= 0 and _GROUPISH.fullmatch(words[i].group()):
                cut = words[i].start()
                i -= 1
        return self._emit(buf, cut)

    def flush(self) -> str:
        """The held text, redacted; the stream is over."""
        buf, self._pending = self._pending, ""
        return self._emit(buf, len(buf))

    def _emit(self, buf: str, cut: int) -> str:
        ctx = self._left + buf
        shift = len(self._left)
        matches = [m for m in find_pii(ctx, self._kinds, self._regions) if m.end > shift]
        for m in matches:  # never cut through a match: hold it back whole
            if m.start < shift + cut < m.end:
                cut = max(0, m.start - shift)
                break
        final = [m._replace(start=max(m.start, shift) - shift, end=m.end - shift) for m in matches
                 if m.end <= shift + cut]
        out = apply_redaction(buf[:cut], final)
        self._pending = buf[cut:]
        self._left = (self._left + buf[:cut])[-_LEFT:]
        return out
