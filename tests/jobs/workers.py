"""Broker mode in tests: real brokers, real ``ragd worker`` processes (docs/testing.md, "Workers").

* :class:`Broker`: the RabbitMQ at 127.0.0.1:5672 or the Redis at 127.0.0.1:6379 (database 0) with a queue-name
  prefix of its own (``RAGD_JOBS__QUEUE_PREFIX``), so tests never see each other's messages; :meth:`Broker.env`
  is what a ``ragd serve`` or ``ragd worker`` of the test needs, :meth:`Broker.cleanup` deletes its queues.
  ``Broker.through(proxy)`` is the same broker reached through a :class:`tests.tcpproxy.TcpProxy` (an outage).
* :class:`WorkerProcess`: a ``ragd worker`` subprocess on 127.0.0.1 with a metrics port; :meth:`start` returns
  once it consumes (its ``ragd_worker_ready`` gauge is 1), :meth:`metric` reads its Prometheus metrics,
  :meth:`stop` is a SIGTERM (warm shutdown), :meth:`kill` a SIGKILL. ``module`` runs another entry point instead
  of ``ragd.cli.main`` (a test module that installs a fault first, tests/jobs/faults.py).
* :func:`wait_until`: poll a condition with a deadline (never a fixed sleep).

Fixtures (tests/jobs/conftest.py): ``broker`` (RabbitMQ), ``any_broker`` (parametrized: RabbitMQ and Redis),
``worker_factory`` (workers stopped at the end of the test). A server in broker mode is ``server_factory(
data_dir, **broker.env())`` (tests/support.py); a worker on the same data directory shares its store (the SQLite
file, or on a PostgreSQL run the test's schema)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
from tests import backend
from tests.support import REPO, free_port

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
REDIS_URL = "redis://127.0.0.1:6379/0"
BROKER_URLS = {"rabbitmq": RABBITMQ_URL, "redis": REDIS_URL}
QUEUES = ("interactive", "bulk")
FAST_JOBS = {
    # quick sweeps, short backoff: a test waits seconds, not minutes, for what the sweeper or a retry does
    "RAGD_JOBS__SWEEP_INTERVAL_S": "0.5",
    "RAGD_JOBS__PUBLISH_GRACE_S": "1",
    "RAGD_JOBS__RETRY_BASE_S": "0.2",
    "RAGD_JOBS__RETRY_MAX_S": "1",
}
T = TypeVar("T")


def wait_until(check: Callable[[], T], what: str, timeout: float = 120.0, interval: float = 0.1) -> T:
    """Poll ``check`` until it returns something true (returned); AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        threading.Event().wait(interval)  # between two polls of a state


@dataclass
class Broker:
    kind: str
    """``rabbitmq`` or ``redis``."""
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:12]}")
    url: str = ""
    """What ragd is given (the broker itself, or a proxy in front of it)."""

    def __post_init__(self) -> None:
        self.direct_url = BROKER_URLS[self.kind]
        self.url = self.url or self.direct_url

    def through(self, port: int) -> Broker:
        """The same broker and prefix, reached through 127.0.0.1:``port`` (a :class:`TcpProxy`)."""
        url = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", self.direct_url)
        return Broker(self.kind, self.prefix, url)

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", 5672 if self.kind == "rabbitmq" else 6379)

    def env(self, **extra: str) -> dict[str, str]:
        return {"RAGD_JOBS__BROKER_URL": self.url, "RAGD_JOBS__QUEUE_PREFIX": self.prefix, **FAST_JOBS, **extra}

    def queue(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def ready_messages(self) -> dict[str, int]:
        """Ready messages per job queue, read on the broker itself."""
        from kombu import Connection

        out: dict[str, int] = {}
        with Connection(self.direct_url) as conn:
            for q in QUEUES:
                channel = conn.channel()
                try:
                    out[q] = int(channel.queue_declare(queue=self.queue(q), passive=True).message_count)
                except Exception:  # never declared
                    out[q] = 0
                finally:
                    with contextlib.suppress(Exception):  # closed by the broker after a 404
                        channel.close()
        return out

    def cleanup(self) -> None:
        """Delete the test's queues and exchange (RabbitMQ keeps durable ones; Redis drops empty lists itself)."""
        from kombu import Connection

        with Connection(self.direct_url) as conn:
            for q in QUEUES:
                with contextlib.suppress(Exception):  # not declared
                    conn.channel().queue_delete(self.queue(q))
            if self.kind == "rabbitmq":
                with contextlib.suppress(Exception):  # not declared
                    conn.channel().exchange_delete(self.prefix)
            else:
                import redis

                client = redis.Redis.from_url(self.direct_url)
                keys = [k for q in QUEUES for k in client.scan_iter(f"{self.queue(q)}*")]
                client.delete(f"_kombu.binding.{self.prefix}", *keys)
                client.close()


def settings_env(data_dir: Path, broker: Broker | None, **extra: str) -> dict[str, str]:
    """The environment of a ``ragd`` subprocess on ``data_dir`` (its store: the directory's in this run) in broker
    mode with ``broker``."""
    env = {**os.environ, **backend.store_env_for(data_dir), "RAGD_DATA_DIR": str(data_dir),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    if broker is not None:
        env.update(broker.env())
    env.update(extra)
    return env


@dataclass
class WorkerProcess:
    data_dir: Path
    broker: Broker
    env: dict[str, str] = field(default_factory=dict)
    queues: tuple[str, ...] = QUEUES
    concurrency: int = 1
    pool: str = "threads"
    module: str = "ragd.cli.main"
    metrics_port: int = 0
    hostname: str = ""
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self, timeout: float = 180.0) -> WorkerProcess:
        self.metrics_port = free_port()
        self.hostname = f"w{uuid.uuid4().hex[:8]}@127.0.0.1"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir.parent / f"worker-{self.metrics_port}.log"
        log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "worker", "--metrics-port", str(self.metrics_port),
             "--metrics-host", "127.0.0.1", "--queues", ",".join(self.queues), "--concurrency",
             str(self.concurrency), "--pool", self.pool, "--hostname", self.hostname],
            env=settings_env(self.data_dir, self.broker, **self.env), stdout=log, stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, f"ragd worker to consume (log {self.log_path})", timeout=timeout, interval=0.2)
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"ragd worker exited with {self.proc.returncode}: {self.log_tail()}")
        try:
            return self.metric("ragd_worker_ready") == 1.0
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def metrics(self) -> dict[str, float]:
        """Every sample of the worker's endpoint: ``'name{label="v",…}'`` (labels sorted) or ``'name'`` → value."""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        out: dict[str, float] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            m = re.match(r"^([^{]+)(?:\{(.*)\})?$", name)
            if m is None:
                continue
            labels = sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            key = m.group(1) + ("{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}" if labels else "")
            out[key] = float(value)
        return out

    def metric(self, name: str, **labels: str) -> float:
        """One sample (0 when absent), e.g. ``metric("ragd_task_retries_total", queue="bulk", reason="error")``."""
        key = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
        return self.metrics().get(key, 0.0)

    def stop(self, timeout: float = 120.0) -> int | None:
        """SIGTERM (warm shutdown: running tasks finish); a SIGKILL after ``timeout``. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
