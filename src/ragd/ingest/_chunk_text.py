"""Text-level helpers of the chunker: sentence boundaries and token-budget cuts over one span of the document.

Everything here works in *document* character offsets. A :class:`TokenMap` tokenises one span once
(through :meth:`TokenCounter.token_offsets`) and then answers "how many tokens between these two positions"
and "how far can I go from here with a budget of *n* tokens" with bisections, so a long block is split with
one tokenizer call. Counts are exact for tokenizers that pre-split on whitespace (WordPiece, as in
all-MiniLM); for others they are estimates, which the chunker checks with a final batched count.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from ragd.embed.base import TokenCounter

# End of a sentence: terminal punctuation, optional closing quotes/brackets (French «…» with its spaces, too),
# then whitespace; the boundary is where the next sentence starts. A line break is a boundary as well.
_SENTENCE_END = re.compile(r"[.!?…]+(?:[ \u00a0\u202f]*[»\"”’')\]])*\s+|\n\s*")
# A period after these words does not end a sentence (case-insensitive, without the period).
_ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "cf", "fig", "no"),
        *("p", "pp", "vol", "ch", "ed", "eds", "al", "approx", "ca"),
        *("m", "mm", "mme", "mlle", "me", "ste", "av", "bd", "env", "art", "chap", "éd"),
    }
)
_OPENERS = frozenset("«“‘([{\"'")
_WORD_BEFORE = re.compile(r"(\S+)$")


def _is_abbreviation(text: str, punct_at: int) -> bool:
    """Whether the single ``.`` at ``punct_at`` closes an abbreviation or an initial (``J.``, ``Dr.``)."""
    m = _WORD_BEFORE.search(text, max(0, punct_at - 12), punct_at)
    if m is None:
        return False
    word = m.group(1).lstrip("([«\"“'")
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True
    return word.lower() in _ABBREVIATIONS


def sentence_starts(text: str, lo: int, hi: int) -> list[int]:
    """Positions in ``(lo, hi)`` where a new sentence (or line) starts inside ``text[lo:hi]``."""
    out: list[int] = []
    for m in _SENTENCE_END.finditer(text, lo, hi):
        nxt = m.end()
        if nxt >= hi:
            break
        punct = m.group(0)
        if punct[0] == "\n":
            out.append(nxt)
            continue
        if text[nxt].islower():  # "approx. three", "« Oui ! » dit-il": the sentence goes on
            continue
        if punct[0] == "." and not punct.startswith("..") and _is_abbreviation(text, m.start()):
            continue
        out.append(nxt)
    return out


def sentence_spans(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Trimmed ``(start, end)`` of the sentences (and lines) of ``text[lo:hi]``; ``lo:hi`` already trimmed."""
    out: list[tuple[int, int]] = []
    s = lo
    for nxt in sentence_starts(text, lo, hi):
        out.append((s, rstrip_pos(text, s, nxt)))
        s = nxt
    out.append((s, hi))
    return out


def line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Trimmed non-empty ``(start, end)`` spans of the lines of ``text[start:end]``."""
    out: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        s = lstrip_pos(text, pos, stop)
        e = rstrip_pos(text, s, stop)
        if e > s:
            out.append((s, e))
        pos = stop + 1
    return out


@dataclass(slots=True)
class TokenMap:
    """Token start positions (document offsets) of ``text[start:end]`` and its sentence boundaries."""

    text: str
    start: int
    end: int
    starts: list[int]
    bounds: list[int]

    @classmethod
    def build(cls, text: str, start: int, end: int, counter: TokenCounter) -> TokenMap:
        offs = counter.token_offsets(text[start:end])
        starts = [start + a for a, _ in offs]
        return cls(text, start, end, starts, sentence_starts(text, start, end))

    @property
    def n_tokens(self) -> int:
        return len(self.starts)

    def index(self, pos: int) -> int:
        """Index of the first token starting at or after ``pos``."""
        return bisect_left(self.starts, pos)

    def tokens(self, a: int, b: int) -> int:
        """Tokens in ``[a, b)`` (``a`` and ``b`` on token or word boundaries)."""
        return self.index(b) - self.index(a)

    def cut(self, pos: int, budget: int, *, words: bool) -> int | None:
        """Furthest position after ``pos`` reachable with ``budget`` tokens, at a sentence start (or a word
        start when ``words``); ``self.end`` when the rest fits; ``None`` if no boundary fits. With ``words``
        and a single word longer than the budget, the cut falls between two tokens."""
        i = self.index(pos)
        if budget <= 0:
            return None
        if i + budget >= self.n_tokens:
            return self.end
        limit = self.starts[i + budget]  # first token that no longer fits
        k = bisect_right(self.bounds, limit) - 1
        if k >= 0 and self.bounds[k] > pos:
            return self.bounds[k]
        if not words:
            return None
        text = self.text
        j = limit
        while j > pos and not text[j - 1].isspace():
            j -= 1
        k = rstrip_pos(text, pos, j)
        if k - 1 > pos and text[k - 1] in _OPENERS and (k - 1 == pos or text[k - 2].isspace()):
            j = k - 1  # do not end a piece on a lone opening "«" or "("
        if j > pos:
            return j
        return limit  # one word over the budget: cut between tokens (last resort)

    def word_start_within(self, end: int, n: int) -> int:
        """The earliest word start from which at most ``n`` tokens remain before ``end`` (``end`` if none)."""
        i = max(self.index(end) - n, 0)
        if i >= len(self.starts):
            return end
        j = self.starts[i]
        text = self.text
        if j == self.start or text[j - 1].isspace():
            return j
        while j < end and not text[j].isspace():
            j += 1
        return lstrip_pos(text, j, end)


def rstrip_pos(text: str, lo: int, hi: int) -> int:
    """``hi`` moved left past whitespace (not below ``lo``)."""
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return hi


def lstrip_pos(text: str, lo: int, hi: int) -> int:
    """``lo`` moved right past whitespace (not beyond ``hi``)."""
    while lo < hi and text[lo].isspace():
        lo += 1
    return lo


def split_words(tm: TokenMap, budget: int) -> list[tuple[int, int, int]]:
    """``(start, end, tokens)`` pieces of the whole span, each within ``budget``, cut at word boundaries."""
    out: list[tuple[int, int, int]] = []
    pos = tm.start
    text = tm.text
    while pos < tm.end:
        q = tm.cut(pos, max(budget, 1), words=True)
        assert q is not None and q > pos
        e = rstrip_pos(text, pos, q)
        out.append((pos, e, tm.tokens(pos, e)))
        pos = lstrip_pos(text, q, tm.end)
    return out
