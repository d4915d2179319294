"""Latency of the exact dense index (ragd.index.dense.DenseIndex) by size, to place the ANN threshold.

    python bench/dense_index_speed.py [--sizes 100000 200000 400000] [--dim 384] [--queries 200]

Vectors are random but L2-normalised (latency does not depend on their distribution; recall is exact by
construction). Reports p50/p95 per size unfiltered and with 10% / 1% of the seqs allowed, plus the cost of
a full save/load round trip, and compares with a bare ``numpy`` matrix product + argpartition (the floor).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ragd.index.dense import DenseIndex


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def _time(fn, queries: np.ndarray) -> tuple[float, float]:
    samples = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        samples.append((time.perf_counter() - start) * 1000)
    return _percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 200_000, 400_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"dim={args.dim} k={args.k} queries={args.queries}  (times in ms: p50 / p95)")
    print(
        f"{'vectors':>8} {'numpy floor':>14} {'unfiltered':>14} {'10% allowed':>14} {'1% allowed':>14}"
        f" {'save s':>7} {'load s':>7}"
    )
    for n in args.sizes:
        vectors = rng.standard_normal((n, args.dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            index = DenseIndex(Path(tmp), "bench", args.dim)
            seqs = np.arange(1, n + 1, dtype=np.int64)
            index.add(seqs, vectors)
            wide = rng.choice(seqs, n // 10, replace=False)
            narrow = rng.choice(seqs, n // 100, replace=False)

            def floor(q: np.ndarray, matrix: np.ndarray = vectors) -> None:
                scores = matrix @ q
                np.argpartition(-scores, args.k)[: args.k]

            results = [
                _time(floor, queries),
                _time(lambda q, index=index: index.search(q, args.k), queries),
                _time(lambda q, index=index, wide=wide: index.search(q, args.k, wide), queries),
                _time(lambda q, index=index, narrow=narrow: index.search(q, args.k, narrow), queries),
            ]
            start = time.perf_counter()
            index.save()
            saved = time.perf_counter() - start
            start = time.perf_counter()
            assert DenseIndex(Path(tmp), "bench", args.dim).load()
            loaded = time.perf_counter() - start
        cells = " ".join(f"{p50:6.2f} /{p95:6.2f}" for p50, p95 in results)
        print(f"{n:>8} {cells} {saved:7.2f} {loaded:7.2f}")


if __name__ == "__main__":
    main()
