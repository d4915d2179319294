"""What a burst of concurrent clients leaves behind in a server: SQLite connections and resident memory.

Starts ``ragd serve`` (authentication off, so the load is not rate-limited) on an existing data directory, runs
``--clients`` threads on 127.0.0.1, each sending ``--rounds`` times a mix that touches every port over the
database (document listing, retrieval-only queries, collections, conversations, the audit log), and samples the
server's ``VmRSS`` and the file descriptors it holds on ``*.sqlite3`` files (one per open connection) every
50 ms. Run it with ``PYTHONPATH`` pointing at the code to measure (a checkout before and after a change).

Run: ``PYTHONPATH=src .venv/bin/python bench/sqlite_connections.py --data-dir DIR [--clients 32] [--rounds 20]
[--out bench/results/sqlite_connections.json]`` (DIR: e.g. the one ``bench/ingest_and_latency.py --data-dir``
filled with 10k chunks).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

QUERIES = ["Which countries border Uruguay?", "boundary layer transition at high speed", "heat transfer in flows",
           "information retrieval evaluation", "la capitale de la France", "library catalog indexing"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sqlite_fds(pid: int) -> int:
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            n += os.readlink(f"/proc/{pid}/fd/{fd}").endswith(".sqlite3")
    return n


def status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    port = free_port()
    env = {**os.environ, "RAGD_DATA_DIR": str(args.data_dir), "RAGD_AUTH__ENABLED": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "ragd.cli.main", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/api/v1/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=60) as c:  # warm-up: one request of each kind
            for q in QUERIES:
                c.post("/api/v1/query", json={"query": q, "answer": False})
            c.get("/api/v1/documents")
        before_kib = status(proc.pid, "VmRSS")
        samples: list[tuple[int, int]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append((sqlite_fds(proc.pid), status(proc.pid, "VmRSS")))
                done.wait(0.05)

        latencies: list[float] = []
        errors: list[int] = []
        lock = threading.Lock()
        start = threading.Barrier(args.clients)

        def client(i: int) -> None:
            with httpx.Client(base_url=url, timeout=120) as c:
                start.wait()
                for r in range(args.rounds):
                    for method, path, kw in (
                        ("GET", "/api/v1/documents", {"params": {"offset": (i * 7 + r) % 50}}),
                        ("POST", "/api/v1/query",
                         {"json": {"query": QUERIES[(i + r) % len(QUERIES)], "answer": False}}),
                        ("GET", "/api/v1/collections", {}),
                        ("GET", "/api/v1/conversations", {}),
                        ("GET", "/api/v1/admin/audit", {}),
                    ):
                        t0 = time.perf_counter()
                        code = c.request(method, path, **kw).status_code
                        with lock:
                            latencies.append((time.perf_counter() - t0) * 1000)
                            if code != 200:
                                errors.append(code)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - t0
        done.set()
        sampler.join()
        idle = threading.Event()
        idle.wait(15)  # anyio's idle worker threads exit after 10 s: what stays after the burst is held
        result = {
            "clients": args.clients, "requests": len(latencies), "errors": len(errors), "seconds": round(took, 1),
            "request_p50_ms": round(statistics.median(latencies), 1),
            "rss_before_mb": round(before_kib / 1024), "rss_peak_mb": round(max(s[1] for s in samples) / 1024),
            "rss_after_15s_mb": round(status(proc.pid, "VmRSS") / 1024),
            "sqlite_fds_peak": max(s[0] for s in samples), "sqlite_fds_after_15s": sqlite_fds(proc.pid),
            "threads_after_15s": status(proc.pid, "Threads"),
        }
    finally:
        proc.terminate()
        proc.wait(60)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
