"""A document's chunk budget: model tokens where the embedding model reads the language, words where it does not.

``chunking.max_tokens`` is counted in the embedding model's tokens so that the model reads every passage whole. That
is only worth something in a language the model was trained on. In any other language the model's tokenizer cuts
words into many more pieces (the shipped all-MiniLM-L6-v2 gives 1.20–1.42 tokens per word on the English evaluation
sets, but 1.95 in French, 1.97 in Spanish, 2.41 in Dutch and 2.51 in German: ``bench/tokens_per_word.py``), so a
passage of 256 tokens held about half the words of an English one, while the model, which cannot read it, weighs at
most as much as BM25 in its ranking (:mod:`ragd.retrieve.weighting`). Passages of half the words cost the lexical
ranking: on the Dutch man-page set ragd's BM25 scored 0.733 nDCG@10 over 256-token passages and 0.758 over word-
sized ones (``bench/multilingual.py``; docs/retrieval.md, "Passage size outside the model's languages").

So, for a document whose language (:func:`ragd.retrieve.analysis.document_language`) has a Snowball stemmer but is
not one of the model's declared languages, the budget (and the overlap) count words: ``max_tokens`` words, turned
into model tokens with the document's own tokens-per-word (measured on its first :data:`SAMPLE_CHARS` characters,
one tokenizer call). The model then embeds the passage's first ``embedding.max_tokens`` tokens, as it would have.
Unchanged: documents in a language the model declares, models that declare no language (assumed to read every
language, as the dense weight does), and languages without a stemmer, whose words are not what their lexical index
counts (Chinese or Japanese text has no spaces between words).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ragd.embed.base import TokenCounter
from ragd.retrieve.analysis import words
from ragd.retrieve.language import SNOWBALL

SAMPLE_CHARS = 4000
"""Tokens per word are measured on at most this many characters of the document's text."""

MAX_TOKENS_PER_WORD = 4.0
"""A guard, not a tuned value: text whose "words" take more pieces than this (hex strings, identifiers, base64) is
not prose, and its budget stops growing there."""


@dataclass(frozen=True, slots=True)
class Budget:
    max_tokens: int
    overlap_tokens: int
    unit: str  # "tokens" or "words": what ``max_tokens`` counted before conversion


def tokens_per_word(text: str, counter: TokenCounter) -> float:
    """The model's tokens per word over the first :data:`SAMPLE_CHARS` characters of ``text`` (1.0 without words),
    within ``[1, MAX_TOKENS_PER_WORD]``."""
    sample = text[:SAMPLE_CHARS]
    n_words = len(words(sample))
    if n_words == 0:
        return 1.0
    (n_tokens,) = counter.count_tokens([sample])
    return min(max(n_tokens / n_words, 1.0), MAX_TOKENS_PER_WORD)


def chunk_budget(
    text: str,
    language: str,
    counter: TokenCounter,
    model_languages: Collection[str] | None,
    *,
    max_tokens: int,
    overlap_tokens: int,
) -> Budget:
    """The token budget and overlap to chunk a document in ``language`` (ISO 639-1) with (module doc)."""
    if model_languages is None or language in model_languages or language not in SNOWBALL:
        return Budget(max_tokens, overlap_tokens, "tokens")
    ratio = tokens_per_word(text, counter)
    return Budget(round(max_tokens * ratio), round(overlap_tokens * ratio), "words")
