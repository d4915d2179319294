"""The ``Embedder`` port: text → unit-length float32 vectors, plus the model's own tokenizer for budgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class TokenCounter(Protocol):
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Number of model tokens of each text, without special tokens and without truncation."""

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The model's token ids of each text, without special tokens and without truncation."""

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character ``(start, end)`` of each model token of ``text`` (no special tokens, no truncation)."""


@runtime_checkable
class Embedder(TokenCounter, Protocol):
    name: str
    """Model name recorded with the index (a change is detected, never mixed)."""
    dim: int

    def embed(self, texts: Sequence[str], token_ids: Sequence[list[int] | None] | None = None) -> np.ndarray:
        """``[len(texts), dim]`` float32, L2-normalised. Batches internally, longest-first sorted.

        ``token_ids[i]``, when not ``None``, is ``token_ids([texts[i]])[0]`` already computed (by the chunker): the
        model uses it instead of tokenizing ``texts[i]`` again."""

    def embed_query(self, text: str) -> np.ndarray:
        """``[dim]`` float32, L2-normalised."""

    def warm_up(self) -> None:
        """Run the model once on a full-size batch, so that the first real batch does not pay for the runtime's
        first-use allocations (about a second on this machine's ONNX Runtime)."""


def model_languages(embedder: object) -> frozenset[str] | None:
    """ISO 639-1 codes of the languages the embedding model was trained on (``embedding.languages``, else its model
    card); ``None``: unknown (an embedder that does not say, or a card that names none). docs/embeddings.md."""
    langs = getattr(embedder, "languages", None)
    return frozenset(langs) if langs is not None else None


def model_fingerprint(embedder: object) -> str | None:
    """A short hash of what makes the model's vectors (weights' config, tokenizer, pooling, prefixes), recorded with
    the index next to its name; ``None`` for an embedder that has none."""
    value = getattr(embedder, "fingerprint", None)
    return str(value) if value else None
