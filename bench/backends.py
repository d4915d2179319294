"""SQLite vs PostgreSQL (in-memory indexes) vs PostgreSQL (pgvector search), side by side on this machine (issue 15).

For each corpus size (10k and 100k chunks) and each backend: ingest rate (chunks/s through ragd's pipeline), retrieval
latency at the HTTP API (p50/p95 over cranfield's queries, an API key, rate limits on), the replica's resident memory
once ready, and on PostgreSQL the bytes per chunk in the database.

The embedding model is the cost of ingestion (~85 %), the same on every backend: the 10k run measures ingestion with
the model; for 100k, the embeddings computed by the SQLite run are copied into each PostgreSQL database's embedding
cache first (``--seed-from``), so the PostgreSQL fill costs parsing, chunking and writes only — its rate is reported
as ``ingest_cached_chunks_per_s`` and not compared with the model-bound rate.

Run (PostgreSQL on 127.0.0.1:5432, role ragd/ragd, pgvector installed, as scripts/system-deps.sh leaves it):
``.venv/bin/python bench/backends.py --chunks 10000 --out bench/results/backends_10k.json``
``.venv/bin/python bench/backends.py --chunks 100000 --keep /work/bench-data --out bench/results/backends_100k.json``
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

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from ingest_and_latency import EVALDATA, passages, pct  # noqa: E402

PG_SERVER = "postgresql://ragd:ragd@127.0.0.1:5432"


def pg_database(name: str, *, fresh: bool) -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f"CREATE DATABASE {name}")
    return f"{PG_SERVER}/{name}"


def settings_env(data: Path, store_url: str | None, dense: str) -> dict[str, str]:
    env = {"RAGD_DATA_DIR": str(data)}
    if store_url:
        env["RAGD_STORE__URL"] = store_url
    if dense != "memory":
        env["RAGD_RETRIEVAL__DENSE_INDEX"] = dense
    return env


def fill(env: dict[str, str], n_chunks: int, seed_from: Path | None) -> dict[str, float]:
    """Ingest copies of the evaluation passages until ``n_chunks`` chunks exist; the rate over what was added."""
    os.environ.update(env)
    from ragd.auth.actor import LOCAL_ACTOR
    from ragd.config import Settings
    from ragd.core import Ragd
    from ragd.ingest.pipeline import Upload

    r = Ragd(Settings())
    try:
        if seed_from is not None:
            seed_embeddings(r, seed_from)
        collection = r.access.writable_collection(LOCAL_ACTOR, None)
        texts = passages()
        start_chunks = r.store.count_chunks()
        t0 = time.perf_counter()
        i = start_chunks  # copies are numbered by position, so a resumed fill adds the same texts
        while r.store.count_chunks() < n_chunks:
            batch = texts[i % len(texts): i % len(texts) + 500]
            r.submit_many([Upload(f"{t}\n\n(copy {i + j})".encode(), f"c{i + j}.txt") for j, t in enumerate(batch)],
                          collection=collection)
            i += len(batch)
            r.workers.drain()
        added = r.store.count_chunks() - start_chunks
        secs = time.perf_counter() - t0
        user = r.auth.create_user(f"bench-{secrets.token_hex(4)}@localhost", secrets.token_urlsafe(24), "user")
        _key, api_key = r.auth.create_key(user, name="bench")
        return {"chunks": r.store.count_chunks(), "added": added, "seconds": round(secs, 1),
                "chunks_per_s": round(added / secs, 1) if added else 0.0, "api_key": api_key}  # type: ignore[dict-item]
    finally:
        r.close()
        for k in env:
            os.environ.pop(k, None)


def seed_embeddings(r: object, sqlite_file: Path) -> None:
    """Copy a SQLite store's embedding cache into this store's (same model), in batches."""
    import sqlite3

    import numpy as np

    con = sqlite3.connect(sqlite_file)
    model = r.embedder.name  # type: ignore[attr-defined]
    cur = con.execute("SELECT content_hash, vector FROM embeddings WHERE model = ?", (model,))
    while rows := cur.fetchmany(5000):
        r.store.put_embeddings(model, {h: np.frombuffer(v, dtype=np.float32) for h, v in rows})  # type: ignore
    con.close()


def pg_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def measure_api(env: dict[str, str], api_key: str, queries: int) -> dict[str, object]:
    from tests.support import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ragd.cli.main", "serve", "--port", str(port)],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    try:
        while True:
            try:
                if httpx.get(url + "/api/v1/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("the server exited")
            time.sleep(0.05)
        ready = time.perf_counter() - t0
        lines = (EVALDATA / "cranfield" / "queries.jsonl").read_text().split("\n")
        qs = [json.loads(x)["text"] for x in lines if x.strip()]
        lat: list[float] = []
        with httpx.Client(base_url=url, headers={"X-API-Key": api_key}, timeout=60) as c:
            for k in range(20):
                c.post("/api/v1/query", json={"query": qs[k], "answer": False})
            for k in range(queries):
                t = time.perf_counter()
                resp = c.post("/api/v1/query", json={"query": qs[k % len(qs)], "top_k": 5, "answer": False})
                lat.append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 200, resp.text
                assert len(resp.json()["results"]) == 5
        return {"ready_s": round(ready, 2), "p50_ms": round(statistics.median(lat), 2),
                "p95_ms": round(pct(lat, 0.95), 2), "rss_mib": rss_mib(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--backends", default="sqlite,pg-memory,pg-store")
    ap.add_argument("--keep", type=Path, help="Keep data directories (and PostgreSQL databases) here for reuse.")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="ragd-bench-"))
    tag = f"{args.chunks // 1000}k"
    sqlite_dir = base / f"sqlite-{tag}"
    results: dict[str, object] = {"chunks_target": args.chunks, "machine": f"{os.cpu_count()} cores"}
    for backend in args.backends.split(","):
        data = base / f"{backend}-{tag}"
        url = None if backend == "sqlite" else pg_database(f"ragd_bench_{tag}", fresh=False)
        dense = "store" if backend == "pg-store" else "memory"
        env = settings_env(data, url, dense)
        seed = sqlite_dir / "ragd.sqlite3" if backend != "sqlite" and args.chunks > 10_000 else None
        filled = fill(env, args.chunks, seed)
        api_key = str(filled.pop("api_key"))
        row: dict[str, object] = {"fill": filled, "api": measure_api(env, api_key, args.queries)}
        if url:
            size = pg_bytes(url)
            row["pg_bytes_per_chunk"] = round(size / max(1, int(filled["chunks"])))
        results[backend] = row
        print(json.dumps({backend: row}), flush=True)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
