"""The speed tables of docs/benchmarks.md, printed from the files a peers run leaves (no hand copying):
ingest seconds and retrieval latency of ragd's default (hybrid) next to the peer recipes, per dev set.

    python bench/speed_tables.py [--peers bench/results/peers.json] [--ragd bench/results/ragd_eval.jsonl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import DATASETS

RESULTS = Path(__file__).resolve().parent / "results"
PEERS = ("langchain", "llamaindex", "dense", "rrf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peers", type=Path, default=RESULTS / "peers.json")
    ap.add_argument("--ragd", type=Path, default=RESULTS / "ragd_eval.jsonl")
    args = ap.parse_args()
    peers = json.loads(args.peers.read_text())
    ragd: dict[tuple[str, str], dict] = {}
    for line in args.ragd.read_text().split("\n"):
        if line.strip():
            row = json.loads(line)
            ragd[(row["dataset"], row["mode"])] = row  # a later run of a set replaces an earlier one
    print("| set | ragd s | LangChain s | LlamaIndex s | dense whole docs s | fastest recipe s / ragd s |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in DATASETS:
        if s not in peers or (s, "hybrid") not in ragd:
            continue
        r = ragd[(s, "hybrid")]["ingest_s"]
        p = {k: peers[s][k]["ingest_s"] for k in ("langchain", "llamaindex", "dense") if k in peers[s]}
        fastest = min(p["langchain"], p["llamaindex"])
        print(f"| {s} | **{r:.1f}** | {p['langchain']:.1f} | {p['llamaindex']:.1f} | {p['dense']:.1f} | "
              f"{fastest / r:.2f} |")
    print()
    print("| set | " + " | ".join(PEERS) + " | ragd bm25 | ragd dense | ragd hybrid |")
    print("|---|" + "---|" * (len(PEERS) + 3))
    for s in DATASETS:
        if s not in peers:
            continue
        cells = [f"{peers[s][k]['p50_ms']:.1f} / {peers[s][k]['p95_ms']:.1f}" for k in PEERS if k in peers[s]]
        for mode in ("bm25", "dense", "hybrid"):
            row = ragd.get((s, mode))
            cells.append(f"{row['latency_p50_ms']:.1f} / {row['latency_p95_ms']:.1f}" if row else "—")
        print(f"| {s} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
