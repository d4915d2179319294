"""Ingest rate of ``ragd worker`` processes against the embedded in-process workers, same corpus, same machine
(issue 16; the per-core rate feeds the sizing table of docs/scaling.md).

Modes (``--modes``, in this order by default):

* ``embedded-sqlite`` / ``embedded-pg``: ``ragd ingest``'s own code path in this process (:func:`ragd.ingest.bulk.
  ingest_files`: a helper thread stores the files while the calling thread indexes through the
  :class:`~ragd.jobs.worker.WorkerPool`), on a fresh SQLite file / a fresh PostgreSQL database;
* ``workers-N`` (``workers-1``, ``workers-2``…): broker mode on a fresh PostgreSQL database and RabbitMQ, N
  ``ragd worker`` processes (``--concurrency`` threads each, default 1) started and warmed up first (each indexes
  a few documents outside the measurement); this process then stores the files and queues their jobs as
  ``ragd ingest`` does in broker mode (``ingest_files(process=False)``, the ``bulk`` queue) and the clock stops
  when the store holds no queued or running job.

For each mode: documents/s and chunks/s from the first file read to the last document indexed, the same per
worker process, and per core — the documents per CPU-second the ingesting processes used (the workers', read
from ``/proc``, plus this process's; in the embedded modes this process does all the work), which is the number
that carries to another machine. The machine's load average is recorded before and after each mode: the machine
is shared, so compare modes of one run, not runs.

Corpus: the evaluation passages of ``../shared/evaldata`` (``bench/ingest_and_latency.py``'s ``passages()``), one
``.txt`` file per passage; every mode starts with a cold embedding cache (a fresh store).

Run (PostgreSQL on 127.0.0.1:5432 as role ragd with pgvector, RabbitMQ on 127.0.0.1:5672, as
``scripts/system-deps.sh`` leaves them)::

    .venv/bin/python bench/workers.py --documents 2000 --out bench/results/workers.json
    .venv/bin/python bench/workers.py --documents 300 --modes embedded-pg,workers-1 --out /tmp/w.json  # a quick one
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "src"))
from backends import pg_database  # noqa: E402
from ingest_and_latency import passages  # noqa: E402

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
CLK_TCK = os.sysconf("SC_CLK_TCK")
WARM_UP_DOCS = 8
"""Documents each worker process indexes before the measurement (the model's first calls are slow)."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_corpus(n: int, folder: Path) -> list[Path]:
    texts = passages(n)
    if len(texts) < n:
        raise SystemExit(f"the evaluation data holds {len(texts)} passages, fewer than --documents {n}")
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, t in enumerate(texts):
        files.append(folder / f"p{i:05d}.txt")
        files[-1].write_text(t, encoding="utf-8")
    return files


class Keys:
    """The keys every process of one PostgreSQL store shares (ragd.core.require_shared_secrets)."""

    def __init__(self) -> None:
        from ragd.audit.signing import generate_seed_b64

        self.signing_key = generate_seed_b64()
        self.jwt_secret = secrets.token_urlsafe(40)

    def env(self) -> dict[str, str]:
        return {"RAGD_AUDIT__SIGNING_KEY": self.signing_key, "RAGD_AUTH__JWT_SECRET": self.jwt_secret}

    def settings(self) -> dict[str, Any]:
        return {"audit": {"signing_key": self.signing_key}, "auth": {"jwt_secret": self.jwt_secret}}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rates(docs: int, chunks: int, seconds: float, cpu: float, processes: int) -> dict[str, Any]:
    return {
        "documents": docs, "chunks": chunks, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
        "docs_per_s": round(docs / seconds, 2), "chunks_per_s": round(chunks / seconds, 2),
        "docs_per_s_per_worker_process": round(docs / seconds / processes, 2),
        "docs_per_cpu_s": round(docs / cpu, 2) if cpu else None,
        "chunks_per_cpu_s": round(chunks / cpu, 2) if cpu else None,
        "docs_per_s_per_machine_core": round(docs / seconds / (os.cpu_count() or 1), 2),
    }


def embedded(files: list[Path], data: Path, store_url: str | None, keys: Keys) -> dict[str, Any]:
    from ragd.config import Settings
    from ragd.core import Ragd
    from ragd.ingest.bulk import ingest_files

    extra: dict[str, Any] = {"store": {"url": store_url}, **keys.settings()} if store_url else {}
    r = Ragd(Settings(data_dir=data, **extra))
    try:
        r.embedder.warm_up()  # as `ragd serve` does at start, and the workers before the measurement
        before = load()
        cpu0, t0 = time.process_time(), time.perf_counter()
        res = ingest_files(r, files)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        statuses = {str(r.store.get_document(i).status) for i in res.ids}  # type: ignore[union-attr]
        out = rates(len(res.ids), r.store.count_chunks(), seconds, cpu, 1)
    finally:
        r.close()
    return {**out, "statuses": sorted(statuses), "load_before": before, "load_after": load()}


class Worker:
    """One ``ragd worker`` subprocess."""

    def __init__(self, env: dict[str, str], data: Path, concurrency: int) -> None:
        self.port = free_port()
        data.mkdir(parents=True, exist_ok=True)
        self.log = open(data.parent / f"worker-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ragd.cli.main", "worker", "--concurrency", str(concurrency), "--queues",
             "interactive,bulk", "--metrics-port", str(self.port), "--metrics-host", "127.0.0.1",
             "--loglevel", "warning"],
            env={**env, "RAGD_DATA_DIR": str(data)}, stdout=self.log, stderr=subprocess.STDOUT)

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"ragd worker exited with {self.proc.returncode}: see {self.log.name}")
        try:
            text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return False
        return any(line.startswith("ragd_worker_ready ") and line.endswith(" 1.0") for line in text.splitlines())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.log.close()


def wait(check: Any, what: str, timeout: float, interval: float = 0.2) -> None:
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        pause.wait(interval)


def queue_empty(r: Any) -> bool:
    counts = r.store.job_counts()
    return all(c.get("queued", 0) + c.get("running", 0) == 0 for c in counts.values())


def delete_queues(prefix: str) -> None:
    from kombu import Connection

    with Connection(BROKER) as conn:
        for q in ("interactive", "bulk"):
            try:
                conn.channel().queue_delete(f"{prefix}.{q}")
            except Exception as exc:  # never declared
                print(f"queue {prefix}.{q}: {exc!r}", file=sys.stderr)
        try:
            conn.channel().exchange_delete(prefix)
        except Exception as exc:  # never declared
            print(f"exchange {prefix}: {exc!r}", file=sys.stderr)


def broker_mode(files: list[Path], base: Path, store_url: str, keys: Keys, n_workers: int,
                concurrency: int, batch: int | None) -> dict[str, Any]:
    from ragd.config import JobsSettings, Settings
    from ragd.core import Ragd
    from ragd.ingest.bulk import ingest_files

    prefix = f"bench{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "RAGD_STORE__URL": store_url, "RAGD_JOBS__BROKER_URL": BROKER,
           "RAGD_JOBS__QUEUE_PREFIX": prefix, **keys.env(),
           **({"RAGD_JOBS__BATCH_DOCUMENTS": str(batch)} if batch else {}),
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH")) if p)}
    r = Ragd(Settings(data_dir=base / "submitter", store={"url": store_url}, **keys.settings(),
                      jobs={"broker_url": BROKER, "queue_prefix": prefix}))
    workers: list[Worker] = []
    try:
        workers = [Worker(env, base / f"worker{i}" / "data", concurrency) for i in range(n_workers)]
        for w in workers:
            wait(w.ready, f"ragd worker on port {w.port} to consume", timeout=600)
        # warm-up outside the measurement: every worker's model makes its first, slow calls
        (base / "warm").mkdir(parents=True, exist_ok=True)
        warm = []
        for i in range(WARM_UP_DOCS * n_workers):
            warm.append(base / "warm" / f"warm-{i}.txt")
            warm[-1].write_text(f"Warm-up note {i} {uuid.uuid4().hex}: the pumps are checked on Mondays.")
        ingest_files(r, warm, process=False)
        wait(lambda: queue_empty(r), "the warm-up documents", timeout=600)
        warm_chunks = r.store.count_chunks()

        before = load()
        cpu0 = [cpu_seconds(w.proc.pid) for w in workers]
        own0, t0 = time.process_time(), time.perf_counter()
        res = ingest_files(r, files, process=False)
        submitted = time.perf_counter() - t0
        wait(lambda: queue_empty(r), "the workers to index the corpus", timeout=24 * 3600)
        seconds = time.perf_counter() - t0
        worker_cpu = sum(cpu_seconds(w.proc.pid) - c for w, c in zip(workers, cpu0, strict=True))
        own_cpu = time.process_time() - own0
        statuses = {str(r.store.get_document(i).status) for i in res.ids}  # type: ignore[union-attr]
        out = rates(len(res.ids), r.store.count_chunks() - warm_chunks, seconds, worker_cpu + own_cpu, n_workers)
        return {**out, "worker_processes": n_workers, "concurrency": concurrency,
                "batch_documents": batch or JobsSettings().batch_documents,
                "worker_cpu_seconds": round(worker_cpu, 2), "submitter_cpu_seconds": round(own_cpu, 2),
                "submit_seconds": round(submitted, 2), "statuses": sorted(statuses), "load_before": before,
                "load_after": load()}
    finally:
        for w in workers:
            w.stop()
        r.close()
        delete_queues(prefix)


def run_mode(mode: str, files: list[Path], base: Path, keys: Keys, args: argparse.Namespace) -> dict[str, Any]:
    data = base / mode
    if data.exists():
        shutil.rmtree(data)
    if mode == "embedded-sqlite":
        return embedded(files, data, None, keys)
    db = f"ragd_bench_workers_{mode.replace('-', '_')}"
    url = pg_database(db, fresh=True)
    try:
        if mode == "embedded-pg":
            return embedded(files, data, url, keys)
        if mode.startswith("workers-"):
            return broker_mode(files, data, url, keys, int(mode.split("-", 1)[1]), args.concurrency,
                               args.batch_documents)
        raise SystemExit(f"unknown mode {mode!r}")
    finally:
        if args.keep is None:
            import psycopg

            with psycopg.connect("postgresql://ragd:ragd@127.0.0.1:5432/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--documents", type=int, default=2000)
    ap.add_argument("--modes", default="embedded-sqlite,embedded-pg,workers-1,workers-2")
    ap.add_argument("--concurrency", type=int, default=1, help="Threads per ragd worker process.")
    ap.add_argument("--batch-documents", type=int, help="RAGD_JOBS__BATCH_DOCUMENTS of the workers (default: "
                    "the setting's default); the embedded modes batch by ingest.batch_documents and ingest.batch_mb.")
    ap.add_argument("--keep", type=Path, help="Keep the data directories (and PostgreSQL databases) here.")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="ragd-bench-workers-"))
    files = write_corpus(args.documents, base / "corpus")
    keys = Keys()
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "documents": args.documents,
                               "corpus": "passages of ../shared/evaldata (bench/ingest_and_latency.py passages())",
                               "modes": {}}
    for mode in args.modes.split(","):
        print(f"{mode}: ingesting {len(files)} documents…", file=sys.stderr, flush=True)
        results["modes"][mode] = run_mode(mode, files, base, keys, args)
        print(f"{mode}: {json.dumps(results['modes'][mode])}", file=sys.stderr, flush=True)
    modes = results["modes"]
    if "workers-1" in modes and "workers-2" in modes:
        results["speedup_2_over_1_workers"] = round(modes["workers-2"]["docs_per_s"] / modes["workers-1"]["docs_per_s"],
                                                    3)
    if "workers-1" in modes and "embedded-pg" in modes:
        results["workers_1_over_embedded_pg"] = round(
            modes["workers-1"]["docs_per_s"] / modes["embedded-pg"]["docs_per_s"], 3)
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
