"""The embedding model's tokens per word in each set's language: why a passage budget in model tokens holds fewer
words outside the model's languages (``ragd.ingest.budget``), and how large a passage of ``max_tokens`` words is.

    .venv/bin/python bench/tokens_per_word.py --sets ../shared/evaldata/adi ../shared/evaldata/piaf-fr \\
        /work/langsets/manpages-de --out bench/results/tokens_per_word.json

Per set: the mean of :func:`ragd.ingest.budget.tokens_per_word` (the shipped model's tokenizer, a document's first
4,000 characters) over its first ``--docs`` documents, and each document's detected language's share.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path

from _common import write_json

from ragd.config.sections import EmbeddingSettings
from ragd.embed import create_embedder
from ragd.evaluation import load_beir
from ragd.ingest.budget import tokens_per_word
from ragd.retrieve.analysis import document_language


def measure(path: Path, embedder: object, docs: int) -> dict[str, object]:
    ds = load_beir(path)
    texts = [d.full_text for d in list(ds.corpus.values())[:docs]]
    ratios = [tokens_per_word(t, embedder) for t in texts]  # type: ignore[arg-type]
    languages = Counter(document_language(t) for t in texts)
    return {
        "documents": len(texts),
        "tokens_per_word_mean": round(statistics.fmean(ratios), 3),
        "tokens_per_word_median": round(statistics.median(ratios), 3),
        "languages": {code: round(n / len(texts), 3) for code, n in languages.most_common()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    embedder = create_embedder(EmbeddingSettings(threads=1))
    results = {path.name: measure(path, embedder, args.docs) for path in args.sets}
    for name, row in results.items():
        print(f"{name:16s} {row['tokens_per_word_mean']:.2f} tokens/word  {row['languages']}", file=sys.stderr)
    if args.out is not None:
        write_json(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
