"""The HTTP server stack under ragd's query endpoint: uvicorn with h11 + asyncio vs httptools + uvloop (what
``uvicorn[standard]`` brings), alternated on the same index, same queries, same client.

The figure to read is the per-request overhead: client latency minus the server's own ``timings_ms.total``
(parsing, middleware, authentication, rate limit, serialisation, the loopback round trip), so that the drift of the
model's speed on a shared machine cancels out.

Run: ``.venv/bin/python bench/http_stack.py --data-dir DIR [--rounds 3] [--queries 120]`` where DIR holds an
index, e.g. the one ``bench/ingest_and_latency.py --skip-ingest --data-dir DIR`` builds and keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
QUERIES = REPO.parent / "shared" / "evaldata" / "cranfield" / "queries.jsonl"
STACKS = (("h11", "asyncio"), ("httptools", "uvloop"))
SERVE = (
    "import sys, uvicorn; from ragd.api.app import create_app; from ragd.config import Settings; "
    "uvicorn.run(create_app(Settings()), port=int(sys.argv[3]), http=sys.argv[1], loop=sys.argv[2], "
    "log_level='warning')"
)


def api_keys(data: Path, n: int) -> list[str]:
    """One fresh user per server run, so that no run meets another's rate limit."""
    from ragd.config import Settings
    from ragd.core import Ragd

    r = Ragd(Settings(data_dir=data))
    try:
        keys = []
        for _ in range(n):
            user = r.auth.create_user(f"http-{secrets.token_hex(4)}@localhost", secrets.token_urlsafe(24), "user")
            keys.append(r.auth.create_key(user, name="bench")[1])
        return keys
    finally:
        r.close()


def run(data: Path, http: str, loop: str, key: str, qs: list[str], n: int, port: int) -> tuple[float, float]:
    """(client p50 ms, overhead p50 ms) of ``n`` queries after 20 warm-up ones."""
    env = {**os.environ, "RAGD_DATA_DIR": str(data)}
    proc = subprocess.Popen([sys.executable, "-c", SERVE, http, loop, str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/v1/ready", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {http}/{loop} server did not become ready (port {port} taken?)")
            time.sleep(0.05)
        lat: list[float] = []
        over: list[float] = []
        with httpx.Client(base_url=url, headers={"X-API-Key": key}) as c:
            for k in range(n + 20):
                t = time.perf_counter()
                resp = c.post("/api/v1/query", json={"query": qs[k % len(qs)], "top_k": 5, "answer": False})
                ms = (time.perf_counter() - t) * 1000
                assert resp.status_code == 200, resp.text
                if k >= 20:
                    lat.append(ms)
                    over.append(ms - resp.json()["timings_ms"]["total"])
        return statistics.median(lat), statistics.median(over)
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=120)
    ap.add_argument("--port", type=int, default=8769)
    args = ap.parse_args()
    qs = [json.loads(x)["text"] for x in QUERIES.read_text().split("\n") if x.strip()]
    keys = api_keys(args.data_dir, args.rounds * len(STACKS))
    rows: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for http, loop in STACKS:
            rows.setdefault(f"{http}+{loop}", []).append(
                run(args.data_dir, http, loop, keys.pop(), qs, args.queries, args.port)
            )
    out = {
        stack: {
            "client_p50_ms": [round(c, 2) for c, _ in runs],
            "overhead_p50_ms": [round(o, 2) for _, o in runs],
            "overhead_median_ms": round(statistics.median(o for _, o in runs), 2),
        }
        for stack, runs in rows.items()
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
