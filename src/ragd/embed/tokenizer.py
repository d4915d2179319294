"""The embedding model's own tokenizer, used for token budgets (chunking) and by the embedder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer  # its thread pool is off by default: see ragd.config


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
        return [len(ids) for ids in self.token_ids(texts)]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        encs = self._tok.encode_batch_fast(list(texts), add_special_tokens=False)  # ids only, no offsets
        return [e.ids for e in encs]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return list(self._tok.encode(text, add_special_tokens=False).offsets)
