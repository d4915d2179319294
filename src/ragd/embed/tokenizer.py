"""The embedding model's own tokenizer, used for token budgets (chunking) and by the embedder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

# The tokenizer's own thread pool fights ONNX Runtime's threads for the cores: on this 2-core machine, chunking 1,000
# passages took 0.7 s with it and 0.26 s without, and the model ran faster too (bench/ingest_and_latency.py).
# Tokenizing is a few percent of the model's work, so it runs in the calling thread unless the user says otherwise.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer


def load_tokenizer(path: Path) -> Tokenizer:
    """Load ``tokenizer.json`` with truncation and padding switched off (the file ships with both fixed at 128)."""
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return tok


class HFTokenCounter:
    """:class:`ragd.embed.base.TokenCounter` over a Hugging Face ``tokenizer.json``."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tok = tokenizer

    @classmethod
    def from_file(cls, path: Path) -> HFTokenCounter:
        return cls(load_tokenizer(path))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encs = self._tok.encode_batch_fast(list(texts), add_special_tokens=False)  # no offsets: ~17 % faster
        return [len(e.ids) for e in encs]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return list(self._tok.encode(text, add_special_tokens=False).offsets)
