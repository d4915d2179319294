"""Issue 3's speed claims, measured side by side in one run on this machine.

1. Embedding model alone vs ragd's whole ingestion pipeline on the same passages (passages/s, and the ratio).
2. Retrieval-only latency at the HTTP API (``"answer": false``) with ≥ 10,000 chunks indexed: p50 / p95.
3. Server start-up: process spawn → ``/api/v1/health`` answers 200, then → ``/api/v1/ready`` answers 200 (the
   in-memory BM25 index built), with that index on disk; and the BM25 index's build time and memory.

Run: ``.venv/bin/python bench/ingest_and_latency.py [--passages 2000] [--chunks 10000] [--out bench/results/x.json]``
(``--skip-ingest --data-dir DIR`` measures only the API, keeping its index in DIR for the next run)
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ragd.store.base import Store

REPO = Path(__file__).resolve().parents[1]
EVALDATA = REPO.parent / "shared" / "evaldata"


def passages(limit: int | None = None) -> list[str]:
    out: list[str] = []
    for name in ("mini-wiki", "cisi", "cranfield", "medline", "piaf-fr", "adi"):
        for line in (EVALDATA / name / "corpus.jsonl").read_text().split("\n"):
            if not line.strip():
                continue
            d = json.loads(line)
            text = (d.get("title", "") + "\n\n" + d["text"]).strip()
            if len(text) > 40:
                out.append(text)
    return out[:limit] if limit else out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def bench_ingest(n: int, tmp: Path, rounds: int = 3) -> dict[str, float]:
    """Model alone vs the whole pipeline, alternated ``rounds`` times (model, pipeline, model, ...): each pipeline
    run is compared with the mean of the model runs just before and after it, so load drifting on a shared machine
    hits both sides; the median of the per-round ratios is reported."""
    from ragd.config import Settings
    from ragd.core import Ragd
    from ragd.ingest.bulk import ingest_files
    from ragd.ingest.chunking import chunk_document
    from ragd.ingest.loaders import load_document

    texts = passages(n)
    probe = Ragd(Settings(data_dir=tmp / "probe"))
    cs = probe.settings.chunking
    chunk_texts = [  # the model alone gets exactly the chunk texts the pipeline will embed
        c.text
        for i, t in enumerate(texts)
        for c in chunk_document(load_document(t.encode(), f"p{i}.txt"), probe.embedder,
                                max_tokens=cs.max_tokens, overlap_tokens=cs.overlap_tokens)
    ]

    probe.embedder.warm_up()

    def model_run() -> float:
        t0 = time.perf_counter()
        probe.embedder.embed(chunk_texts)
        return time.perf_counter() - t0

    folder = tmp / "passages"  # one file per passage, as `ragd ingest FOLDER` gets them (written untimed)
    folder.mkdir()
    files = []
    for i, t in enumerate(texts):
        files.append(folder / f"p{i:05d}.txt")
        files[-1].write_text(t, encoding="utf-8")

    def pipeline_run(k: int) -> tuple[float, int]:
        # `ragd ingest`'s own code path (ragd.ingest.bulk): read, check and store the files in groups while the
        # queued ones are indexed; embedding cache cold (a fresh store)
        r = Ragd(Settings(data_dir=tmp / f"ingest-{k}"))
        r.embedder.warm_up()  # as the server does at start: both sides measured with a warm runtime
        t0 = time.perf_counter()
        ingest_files(r, files)
        seconds = time.perf_counter() - t0
        chunks = r.store.count_chunks()
        r.close()
        return seconds, chunks

    model_times = [model_run()]
    pipe_times: list[float] = []
    chunks = 0
    for k in range(rounds):
        seconds, chunks = pipeline_run(k)
        pipe_times.append(seconds)
        model_times.append(model_run())
    probe.close()
    ratios = [(chunks / p) / (len(chunk_texts) / ((model_times[k] + model_times[k + 1]) / 2))
              for k, p in enumerate(pipe_times)]
    return {
        "passages": len(texts),
        "chunks": chunks,
        "rounds": rounds,
        "model_chunks_per_s": round(len(chunk_texts) / statistics.median(model_times), 2),
        "pipeline_chunks_per_s": round(chunks / statistics.median(pipe_times), 2),
        "ratios": [round(x, 3) for x in ratios],
        "ratio": round(statistics.median(ratios), 3),
    }


def lexical_index_cost(store: Store) -> dict[str, float]:
    """Build time and memory (Python allocations, tracemalloc) of the in-memory BM25 index over ``store``."""
    import tracemalloc

    from ragd.index.lexical import LexicalIndex

    t0 = time.perf_counter()
    LexicalIndex().sync(store)
    took = time.perf_counter() - t0
    tracemalloc.start()  # a second build, traced (tracing slows it down)
    index = LexicalIndex()
    index.sync(store)
    size, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"chunks": len(index), "build_s": round(took, 2), "memory_mb": round(size / 2**20, 1),
            "bytes_per_chunk": round(size / max(len(index), 1))}


def bench_api(n_chunks: int, data: Path, queries: int = 200) -> dict[str, object]:
    """Fill ``data`` up to ``n_chunks`` (a directory kept from an earlier run is reused as it is), then measure."""
    from ragd.auth.actor import LOCAL_ACTOR
    from ragd.config import Settings
    from ragd.core import Ragd
    from ragd.ingest.pipeline import Upload

    r = Ragd(Settings(data_dir=data))
    # the tenant's shared collection, created as a first upload creates it, so that the bench user reads it all
    collection = r.access.writable_collection(LOCAL_ACTOR, None)
    texts = passages()
    i = 0
    while r.store.count_chunks() < n_chunks:
        batch = texts[i % len(texts) : i % len(texts) + 500]
        r.submit_many([Upload(f"{t}\n\n(copy {i + j})".encode(), f"c{i + j}.txt") for j, t in enumerate(batch)],
                      collection=collection)
        i += len(batch)
        r.workers.drain()
    chunks = r.store.count_chunks()
    lexical = lexical_index_cost(r.store)
    # measured as a client of a real deployment sees it: authentication on, an API key, rate limits applied
    user = r.auth.create_user(f"bench-{secrets.token_hex(4)}@localhost", secrets.token_urlsafe(24), "user")
    _key, api_key = r.auth.create_key(user, name="bench")
    r.close()

    port = 8765
    env = {**os.environ, "RAGD_DATA_DIR": str(data)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragd.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(url + "/api/v1/health", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.02)
    startup = time.perf_counter() - t0
    while httpx.get(url + "/api/v1/ready", timeout=5).status_code != 200:  # BM25 index built, model answers
        time.sleep(0.02)
    ready = time.perf_counter() - t0
    lines = (EVALDATA / "cranfield" / "queries.jsonl").read_text().split("\n")
    qs = [json.loads(x)["text"] for x in lines if x.strip()]
    lat: list[float] = []
    server: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=url, headers={"X-API-Key": api_key}) as c:
            for k in range(20):  # warm-up
                c.post("/api/v1/query", json={"query": qs[k], "answer": False})
            for k in range(queries):
                t = time.perf_counter()
                resp = c.post("/api/v1/query", json={"query": qs[k % len(qs)], "top_k": 5, "answer": False})
                lat.append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 200, resp.text
                assert len(resp.json()["results"]) == 5, "the bench user must find passages, not an empty index"
                for step, ms in resp.json()["timings_ms"].items():
                    server.setdefault(step, []).append(ms)
    finally:
        proc.terminate()
        proc.wait(30)
    return {
        "chunks": chunks,
        "startup_s": round(startup, 2),
        "ready_s": round(ready, 2),
        "lexical_index": lexical,
        "retrieval_p50_ms": round(statistics.median(lat), 2),
        "retrieval_p95_ms": round(pct(lat, 0.95), 2),
        "server_p50_ms": {step: round(statistics.median(ms), 2) for step, ms in server.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=2000)
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--skip-api", action="store_true", help="Only the ingestion comparison.")
    ap.add_argument("--skip-ingest", action="store_true", help="Only the API latency and start-up.")
    ap.add_argument("--rounds", type=int, default=3, help="Alternated model/pipeline rounds (median ratio).")
    ap.add_argument("--data-dir", type=Path, help="Keep the API part's index here and reuse it on the next run.")
    ap.add_argument("--queries", type=int, default=200, help="Timed API queries.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        res: dict[str, object] = {}
        if not args.skip_ingest:
            res["ingest"] = bench_ingest(args.passages, Path(d), args.rounds)
        if not args.skip_api:
            res["api"] = bench_api(args.chunks, args.data_dir or Path(d) / "api", args.queries)
    print(json.dumps(res, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
