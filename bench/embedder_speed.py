"""Embedder speed: start-up, passages/s (length-sorted vs unsorted batches) and single-query latency.

    python bench/embedder_speed.py [--n 2000] [--batch 32] [--threads 0] [--st-python /tmp/st-venv/bin/python]
    python bench/embedder_speed.py --batch-tokens 0 1024 [--rounds 5]   # token-budget batching vs fixed batches
    python bench/embedder_speed.py --groups 1024 256 128 [--rounds 4]   # the same passages in calls of N texts

Data: the first ``--n`` passages of ../shared/evaldata/mini-wiki/corpus.jsonl (field "text"). With
``--st-python``, the same passages are also embedded by sentence-transformers (the peer) in that interpreter,
which must have sentence-transformers installed; the model is loaded from the same package directory offline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ragd.config import EmbeddingSettings
from ragd.embed.onnx import OnnxEmbedder, resolve_model_dir

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "evaldata" / "mini-wiki" / "corpus.jsonl"
QUERY = "When did Uruguay become independent?"

_PEER = r"""
import json, sys, time
from sentence_transformers import SentenceTransformer
model_dir, n, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
texts = [json.loads(line)["text"] for line in open(sys.argv[4], encoding="utf-8")][:n]
m = SentenceTransformer(model_dir, device="cpu")
t = time.perf_counter(); m.encode(texts, batch_size=batch); sorted_s = time.perf_counter() - t
lat = []
for _ in range(50):
    t = time.perf_counter(); m.encode([sys.argv[5]]); lat.append(time.perf_counter() - t)
lat.sort()
print(json.dumps({"sorted_s": sorted_s, "query_p50_ms": lat[len(lat) // 2] * 1000}))
"""


def load_passages(n: int) -> list[str]:
    with CORPUS.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line, _ in zip(f, range(n), strict=False)]


def compare_budgets(texts: list[str], batch: int, budgets: list[int], rounds: int) -> None:
    """Length-sorted passages/s per token budget, the budgets alternated ``rounds`` times (medians reported)."""
    embs = {b: OnnxEmbedder(EmbeddingSettings(batch_size=batch, batch_tokens=b or 262_144)) for b in budgets}
    for emb in embs.values():
        emb.warm_up()
    times: dict[int, list[float]] = {b: [] for b in budgets}
    for _ in range(rounds):
        for b, emb in embs.items():
            t = time.perf_counter()
            emb.embed(texts)
            times[b].append(time.perf_counter() - t)
    for b, ts in times.items():
        label = f"{b} tokens per batch" if b else f"fixed batches of {batch}"
        print(f"{label}: {len(texts) / statistics.median(ts):.1f} passages/s (rounds: "
              f"{', '.join(f'{t:.2f}' for t in ts)} s)")


def compare_groups(texts: list[str], groups: list[int], rounds: int) -> None:
    """Seconds to embed ``texts`` in calls of ``g`` texts each (length sorting happens within a call), alternated."""
    emb = OnnxEmbedder(EmbeddingSettings())
    emb.warm_up()
    times: dict[int, list[float]] = {g: [] for g in groups}
    for _ in range(rounds):
        for g in groups:
            t = time.perf_counter()
            for i in range(0, len(texts), g):
                emb.embed(texts[i : i + g])
            times[g].append(time.perf_counter() - t)
    for g, ts in times.items():
        print(f"calls of {g} texts: {statistics.median(ts):.2f} s (rounds: {', '.join(f'{t:.2f}' for t in ts)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--st-python", default="", help="interpreter with sentence-transformers (the peer)")
    ap.add_argument("--batch-tokens", type=int, nargs="+", default=None,
                    help="compare these token budgets per batch (0 = fixed batches of --batch), alternated rounds")
    ap.add_argument("--groups", type=int, nargs="+", default=None,
                    help="compare embedding the passages in calls of these many texts (default settings)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    texts = load_passages(args.n)
    if args.groups:
        compare_groups(texts, args.groups, args.rounds)
        return
    if args.batch_tokens:
        compare_budgets(texts, args.batch, args.batch_tokens, args.rounds)
        return

    t0 = time.perf_counter()
    settings = EmbeddingSettings(batch_size=args.batch, threads=args.threads)
    emb = OnnxEmbedder(settings)
    startup = time.perf_counter() - t0
    tokens = [min(c + 2, settings.max_tokens) for c in emb.count_tokens(texts)]
    print(
        f"passages: {len(texts)}, model tokens per passage: mean {statistics.mean(tokens):.0f}, "
        f"median {statistics.median(tokens):.0f}, max {max(tokens)}"
    )
    print(f"start-up (build graph + ORT session): {startup:.2f} s")

    emb.embed(texts[:64])  # warm-up
    t = time.perf_counter()
    sorted_vecs = emb.embed(texts)  # length-sorted over the whole input
    sorted_s = time.perf_counter() - t
    t = time.perf_counter()
    # Unsorted: batches of consecutive passages in corpus order (each padded to its own longest).
    chunks = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
    unsorted_vecs = np.concatenate([emb.embed(chunk) for chunk in chunks])
    unsorted_s = time.perf_counter() - t
    assert np.allclose(sorted_vecs, unsorted_vecs, atol=1e-4)
    print(
        f"ragd ORT fp32 batch {args.batch}: sorted {len(texts) / sorted_s:.1f} passages/s, "
        f"unsorted {len(texts) / unsorted_s:.1f} passages/s"
    )

    lat = []
    for _ in range(200):
        t = time.perf_counter()
        emb.embed_query(QUERY)
        lat.append(time.perf_counter() - t)
    lat.sort()
    print(f"query latency ({QUERY!r}): p50 {lat[100] * 1000:.2f} ms, p95 {lat[190] * 1000:.2f} ms")

    if args.st_python:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        out = (
            subprocess.run(
                [
                    args.st_python,
                    "-c",
                    _PEER,
                    str(resolve_model_dir(settings)),
                    str(args.n),
                    str(args.batch),
                    str(CORPUS),
                    QUERY,
                ],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        peer = json.loads(out)
        print(
            f"peer sentence-transformers (torch) batch {args.batch}: "
            f"{len(texts) / peer['sorted_s']:.1f} passages/s (it sorts by length itself); "
            f"query p50 {peer['query_p50_ms']:.2f} ms"
        )
        print(f"ratio ragd sorted / peer: {peer['sorted_s'] / sorted_s:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
