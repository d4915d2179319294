"""Final token counts of the chunks, and the safety net for tokenizers whose counts do not add up.

The packer sums sentence counts. For a tokenizer that splits on whitespace before anything else (WordPiece,
as in all-MiniLM) the sum equals the count of the joined text, so recounting every chunk would only cost a
second full tokenizer pass. Instead, the chunks whose sum could be off (a cut inside a word, non-blank text
between blocks, no sum at all) and an evenly spread sample of the others are counted in one batch; if a
single sampled sum is wrong, the tokenizer is not additive, every chunk is counted, and a prose chunk found
over the budget is cut again at words.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from ragd.embed.base import TokenCounter
from ragd.ingest._chunk_text import TokenMap, split_words

_SAMPLE = 16  # chunks whose summed count is checked against a real count
_PROVEN = 256  # sampled sums found exact after which a tokenizer counts as additive for good
_verified: weakref.WeakKeyDictionary[TokenCounter, int] = weakref.WeakKeyDictionary()
_verified_lock = threading.Lock()


def _is_proven(counter: TokenCounter) -> bool:
    """Whether ``counter`` has matched enough sampled sums: additivity belongs to the tokenizer, not to a document,
    so once proven, documents skip the sampling pass (a second tokenizer pass over short documents)."""
    try:
        return _verified.get(counter, 0) >= _PROVEN
    except TypeError:  # not weak-referenceable: always sample
        return False


def _record(counter: TokenCounter, matched: int) -> None:
    try:
        with _verified_lock:
            _verified[counter] = _verified.get(counter, 0) + matched
    except TypeError:
        pass


@dataclass(slots=True)
class Out:
    """A finished chunk before numbering."""

    text: str
    start: int
    end: int
    pages: list[int]
    path: list[str]
    table: bool
    est: int = -1  # token count summed from the parts (-1: unknown)
    check: bool = True  # the sum may be off (a cut inside a word, text between blocks): count the text


def final_counts(outs: list[Out], counter: TokenCounter) -> list[int]:
    """The counter's count of every chunk text, in as few tokenizer passes as exactness allows."""
    unknown = [i for i, o in enumerate(outs) if o.check or o.est < 0]
    rest = [i for i, o in enumerate(outs) if not (o.check or o.est < 0)]
    step = max(1, len(rest) // _SAMPLE)
    sample = [] if _is_proven(counter) else rest[::step][:_SAMPLE]
    probe = unknown + sample
    counts = [o.est for o in outs]
    for i, n in zip(probe, counter.count_tokens([outs[i].text for i in probe]), strict=True):
        counts[i] = n
    if all(counts[i] == outs[i].est for i in sample):
        _record(counter, len(sample))
    else:
        sampled = set(sample)
        others = [i for i in rest if i not in sampled]
        for i, n in zip(others, counter.count_tokens([outs[i].text for i in others]), strict=True):
            counts[i] = n
    return counts


def enforce_budget(outs: list[Out], counter: TokenCounter, max_tokens: int) -> list[tuple[Out, int]]:
    """Final counts; a prose chunk over the budget (only with a non-additive tokenizer) is cut again."""
    counts = final_counts(outs, counter)
    result: list[tuple[Out, int]] = []
    for o, n in zip(outs, counts, strict=True):
        if n <= max_tokens or o.table:
            result.append((o, n))
            continue
        budget = max_tokens
        while True:
            tm = TokenMap.build(o.text, 0, len(o.text), counter)
            parts = [Out(o.text[a:b], o.start + a, o.start + b, o.pages, o.path, False) for a, b, _ in
                     split_words(tm, budget)]  # fmt: skip
            part_counts = counter.count_tokens([p.text for p in parts])
            if max(part_counts) <= max_tokens or budget <= 1:
                result.extend(zip(parts, part_counts, strict=True))
                break
            budget = max(1, budget * 9 // 10)
    return result
