"""A document's chunk budget (ragd.ingest.budget): the model's tokens in the languages it declares, words in the
others, measured with the shipped model's own tokenizer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragd.config.sections import EmbeddingSettings
from ragd.embed import create_embedder
from ragd.embed.base import Embedder
from ragd.ingest.budget import MAX_TOKENS_PER_WORD, chunk_budget, tokens_per_word

DUTCH = (
    "De gemeenteraad heeft de begroting voor het komende jaar goedgekeurd. Er gaat meer geld naar fietspaden, "
    "schoolgebouwen en de verbouwing van de openbare bibliotheek in het centrum van de stad. "
) * 4
ENGLISH = (
    "The town council approved the budget for the coming year. More money goes to cycle paths, school buildings "
    "and the renovation of the public library in the centre of the town. "
) * 4


@pytest.fixture(scope="module")
def embedder() -> Iterator[Embedder]:
    yield create_embedder(EmbeddingSettings(threads=1))


def test_a_language_the_model_reads_keeps_its_token_budget(embedder: Embedder) -> None:
    budget = chunk_budget(ENGLISH, "en", embedder, {"en"}, max_tokens=256, overlap_tokens=32)
    assert (budget.max_tokens, budget.overlap_tokens, budget.unit) == (256, 32, "tokens")


def test_another_language_counts_words(embedder: Embedder) -> None:
    ratio = tokens_per_word(DUTCH, embedder)
    assert ratio > tokens_per_word(ENGLISH, embedder) + 0.3  # the English model cuts Dutch words finer
    budget = chunk_budget(DUTCH, "nl", embedder, {"en"}, max_tokens=256, overlap_tokens=32)
    assert budget.unit == "words"
    assert (budget.max_tokens, budget.overlap_tokens) == (round(256 * ratio), round(32 * ratio))


@pytest.mark.parametrize(
    ("language", "model_languages"),
    [("nl", None), ("nl", {"en", "nl"}), ("ja", {"en"}), ("zh", {"en"})],
)
def test_unchanged_when_the_model_may_read_it_or_words_are_not_what_is_indexed(
    embedder: Embedder, language: str, model_languages: set[str] | None
) -> None:
    # a model that declares no language is assumed to read every one; Japanese and Chinese have no Snowball stemmer
    budget = chunk_budget(DUTCH, language, embedder, model_languages, max_tokens=256, overlap_tokens=32)
    assert (budget.max_tokens, budget.unit) == (256, "tokens")


def test_tokens_per_word_is_bounded(embedder: Embedder) -> None:
    assert tokens_per_word("", embedder) == 1.0
    assert tokens_per_word("— 42 —", embedder) >= 1.0
    hexes = " ".join(f"{i:064x}" for i in range(1, 40))  # not prose: dozens of pieces per "word"
    assert tokens_per_word(hexes, embedder) == MAX_TOKENS_PER_WORD
