"""SQLite vs PostgreSQL (in-memory indexes) vs PostgreSQL (pgvector search), side by side on this machine (issue 15).

For each backend:

* ingestion with the model, into a fresh store (``--ingest-chunks``, texts no cache holds): chunks/s through ragd's
  whole pipeline, the number to compare across backends (the model is ~85 % of it, the same everywhere);
* for each corpus size (``--chunks 10000 50000``): a fresh store filled with the evaluation passages, its embedding
  cache seeded from a SQLite store that embedded those texts before (``--seed-from``), so the fill pays parsing,
  chunking and writes only (reported as ``fill.chunks_per_s``, not comparable with the model-bound rate); then
  retrieval latency at the HTTP API (p50/p95 over cranfield's queries, an API key, rate limits on), the replica's
  resident memory once ready, and the bytes per chunk on disk (PostgreSQL: the whole database; SQLite: the file).

Run (PostgreSQL on 127.0.0.1:5432, role ragd/ragd, pgvector installed, as scripts/system-deps.sh leaves it):
``.venv/bin/python bench/backends.py --chunks 10000 50000 --seed-from DIR/ragd.sqlite3 --out OUT.json``
where DIR is a data directory filled once by ``fill`` below without a seed (for example the SQLite corpus of an
earlier run with ``--keep``).
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
SHARED_KEYS = {"RAGD_AUDIT__SIGNING_KEY": "", "RAGD_AUTH__JWT_SECRET": secrets.token_urlsafe(40)}


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
    if store_url:  # replicas of a PostgreSQL store take the keys they share from the settings
        env.update(RAGD_STORE__URL=store_url, **SHARED_KEYS)
    if dense != "memory":
        env["RAGD_RETRIEVAL__DENSE_INDEX"] = dense
    return env


def fill(env: dict[str, str], n_chunks: int, seed_from: Path | None, first_copy: int = 0) -> dict[str, float]:
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
        i = first_copy + start_chunks  # copies are numbered by position: a resumed fill adds the same texts
        while r.store.count_chunks() < n_chunks:
            batch = texts[i % len(texts): i % len(texts) + min(500, max(50, n_chunks - r.store.count_chunks()))]
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
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
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


def ingest_rate(backend: str, base: Path, n_chunks: int) -> dict[str, float]:
    """Model-bound ingestion into a fresh store: texts no embedding cache holds (copies numbered from 10**6)."""
    tag = f"ingest{n_chunks}"
    url = None if backend == "sqlite" else pg_database(f"ragd_bench_{tag}", fresh=True)
    data = base / f"{backend}-{tag}"
    if data.exists():
        import shutil

        shutil.rmtree(data)
    env = settings_env(data, url, "store" if backend == "pg-store" else "memory")
    filled = fill(env, n_chunks, None, first_copy=10**6)
    filled.pop("api_key")
    return filled


def main() -> None:
    from ragd.audit.signing import generate_seed_b64

    SHARED_KEYS["RAGD_AUDIT__SIGNING_KEY"] = generate_seed_b64()
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, nargs="+", default=[10_000], help="Corpus sizes, ascending.")
    ap.add_argument("--ingest-chunks", type=int, default=1000, help="Model-bound ingestion measured on this many.")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--backends", default="sqlite,pg-memory,pg-store")
    ap.add_argument("--seed-from", type=Path, help="A SQLite store whose embedding cache fills the corpora (the "
                    "texts it embedded are the ones the fill adds): only ingestion's writes are paid.")
    ap.add_argument("--keep", type=Path, help="Keep data directories here.")
    ap.add_argument("--reuse", action="store_true", help="With --keep: measure the corpora an earlier run kept "
                    "(filled up to the size already) instead of building them again.")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="ragd-bench-"))
    results: dict[str, object] = {"machine": f"{os.cpu_count()} cores", "sizes": args.chunks,
                                  "seeded_from": str(args.seed_from) if args.seed_from else None}
    for backend in args.backends.split(","):
        row: dict[str, object] = {}
        if args.ingest_chunks:
            row["ingest_model_bound"] = ingest_rate(backend, base, args.ingest_chunks)
        url = None if backend == "sqlite" else pg_database(f"ragd_bench_{backend.replace('-', '_')}",
                                                           fresh=not args.reuse)
        data = base / f"{backend}-corpus"
        if data.exists() and not args.reuse:
            import shutil

            shutil.rmtree(data)
        env = settings_env(data, url, "store" if backend == "pg-store" else "memory")
        for i, size in enumerate(args.chunks):
            filled = fill(env, size, args.seed_from if i == 0 and not args.reuse else None)
            api_key = str(filled.pop("api_key"))
            at: dict[str, object] = {"fill": filled, "api": measure_api(env, api_key, args.queries)}
            if url:
                at["pg_bytes_per_chunk"] = round(pg_bytes(url) / max(1, int(filled["chunks"])))
            else:
                size_b = (data / "ragd.sqlite3").stat().st_size
                at["sqlite_bytes_per_chunk"] = round(size_b / max(1, int(filled["chunks"])))
            row[str(size)] = at
            print(json.dumps({backend: {str(size): at}}), flush=True)
        results[backend] = row
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
