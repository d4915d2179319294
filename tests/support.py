"""Test support: paths to the evaluation data and a real `ragd serve` on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests import backend

REPO = Path(__file__).resolve().parents[1]
EVALDATA = REPO.parent / "shared" / "evaldata"
FIXTURES = EVALDATA / "fixtures"


def _pause(seconds: float) -> None:
    """Between two polls of a state (never a wait for something to happen by itself)."""
    threading.Event().wait(seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A `ragd serve` subprocess on a free loopback port."""

    data_dir: Path
    env: dict[str, str]
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    #: the store the server runs on (set by :meth:`start`): open it with ``ragd.store.backend.open_backend`` or
    #: read it with ``tests.backend.query``, on either backend
    store_url: str = ""
    #: the command line, default ``python -m ragd.cli.main serve --port PORT``; one given here (e.g. a container
    #: image's entry point) gets its port as RAGD_SERVER__PORT, and runs in ``cwd`` (default: the caller's)
    argv: list[str] | None = None
    cwd: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        self.port = free_port()
        # Authentication is off unless a test turns it on (tests/auth/* do, with real users and keys).
        # the store: one the test names in env, else the data directory's in this run (tests/backend.py url_of)
        env = {**os.environ, "RAGD_AUTH__ENABLED": "false", **backend.store_env_for(self.data_dir), **self.env,
               "RAGD_DATA_DIR": str(self.data_dir)}
        self.store_url = env.get("RAGD_STORE__URL") or backend.store_url_for(self.data_dir)
        argv = self.argv or [sys.executable, "-m", "ragd.cli.main", "serve", "--port", str(self.port)]
        if self.argv:
            env["RAGD_SERVER__PORT"] = str(self.port)
        log = open(self.data_dir.parent / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ragd serve exited with {self.proc.returncode}; see {log.name}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            _pause(0.1)
        raise RuntimeError("ragd serve did not become healthy in time")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def wait_done(self, client: httpx.Client, ids: list[str], timeout: float = 600.0,
                  headers: dict[str, str] | None = None) -> dict[str, dict]:
        """Poll until every document is indexed or failed; returns the documents by id."""
        deadline = time.monotonic() + timeout
        docs: dict[str, dict] = {}
        while time.monotonic() < deadline:
            for i in ids:
                if docs.get(i, {}).get("status") in ("indexed", "failed"):
                    continue
                r = client.get(f"/api/v1/documents/{i}", headers=headers)
                assert r.status_code == 200, r.text
                docs[i] = r.json()
            if all(docs.get(i, {}).get("status") in ("indexed", "failed") for i in ids):
                return docs
            _pause(0.3)
        pending = {
            i: docs.get(i, {}).get("status") for i in ids if docs.get(i, {}).get("status") != "indexed"
        }
        raise AssertionError(f"documents not done in {timeout}s: {pending}")


def wait_progressing(server: Server, client: httpx.Client, ids: list[str], stall: float = 900.0,
                     headers: dict[str, str] | None = None) -> dict[str, dict]:
    """Poll until every document is indexed or failed; returns the documents by id. There is no deadline on the
    whole (a busy machine is slow, not broken): only ``stall`` seconds without any document changing its status
    fail, as a server that stopped making progress would."""
    docs: dict[str, dict] = {}
    last_change = time.monotonic()
    while True:
        changed = False
        for i in ids:
            if docs.get(i, {}).get("status") in ("indexed", "failed"):
                continue
            r = client.get(f"/api/v1/documents/{i}", headers=headers)
            assert r.status_code == 200, r.text
            changed |= r.json()["status"] != docs.get(i, {}).get("status")
            docs[i] = r.json()
        if all(d.get("status") in ("indexed", "failed") for d in docs.values()) and len(docs) == len(ids):
            return docs
        now = time.monotonic()
        if changed:
            last_change = now
        elif now - last_change > stall:
            waiting = {i: d.get("status") for i, d in docs.items() if d.get("status") not in ("indexed", "failed")}
            raise AssertionError(f"no document changed status for {stall:g} s (server {server.url}): {waiting}")
        _pause(0.3)
