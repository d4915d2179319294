"""The committed Caddyfile, run by a real Caddy in front of two stand-in replicas on loopback: traffic follows
each replica's /api/v1/ready (503 takes it out of rotation, 200 brings it back)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from tests.deploy.tools import CADDYFILE, caddy_exe
from tests.support import free_port

DEADLINE_S = 30.0  # Caddy checks readiness every 5 s (deploy/caddy/Caddyfile)


@dataclass
class Replica:
    name: str
    ready: bool = True
    server: ThreadingHTTPServer | None = None

    def start(self) -> int:
        replica = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/api/v1/ready":
                    status, body = (200, b"ready") if replica.ready else (503, b"catching up")
                else:
                    status, body = 200, replica.name.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return int(self.server.server_address[1])

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[str, Replica, Replica]]:
    one, two = Replica("ragd-1", ready=True), Replica("ragd-2", ready=False)
    port_one, port_two, listen = one.start(), two.start(), free_port()
    # the committed file, with the compose service names and port swapped for loopback addresses
    config = CADDYFILE.read_text()
    for old, new in (("ragd-1:8000", f"127.0.0.1:{port_one}"), ("ragd-2:8000", f"127.0.0.1:{port_two}"),
                     ("http://:8080 {", f"http://127.0.0.1:{listen} {{")):
        assert old in config, old
        config = config.replace(old, new)
    path = tmp_path / "Caddyfile"
    path.write_text(config)
    run_env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
               "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = subprocess.Popen([caddy_exe(), "run", "--config", str(path), "--adapter", "caddyfile"],
                            env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{listen}", one, two
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        one.stop()
        two.stop()


def until(condition: Callable[[], bool]) -> None:
    stop = threading.Event()
    deadline = threading.Timer(DEADLINE_S, stop.set)
    deadline.start()
    try:
        while not condition():
            assert not stop.is_set(), "condition not met before the deadline"
            stop.wait(0.2)
    finally:
        deadline.cancel()


def answers(base: str, n: int = 20) -> set[str]:
    """Which replicas answered n requests (empty when the proxy is not up yet)."""
    try:
        with httpx.Client(base_url=base, timeout=5.0) as client:
            replies = [client.get("/api/v1/documents") for _ in range(n)]
    except httpx.TransportError:
        return set()
    return {r.text for r in replies if r.status_code == 200}


def test_traffic_follows_readiness(proxied: tuple[str, Replica, Replica]) -> None:
    base, one, two = proxied
    # 20 requests on one replica while both were in rotation: odds of 2**-20 (ties are broken at random)
    until(lambda: answers(base) == {"ragd-1"})  # ragd-2 says 503: out of rotation
    two.ready, one.ready = True, False  # ragd-2 has caught up, ragd-1 falls behind
    until(lambda: answers(base) == {"ragd-2"})
    one.ready = True
    until(lambda: answers(base) == {"ragd-1", "ragd-2"})  # both in rotation again
