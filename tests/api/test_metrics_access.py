"""Who may read /metrics (ragd.api.routes.ops): with RAGD_METRICS__TOKEN, whoever sends it; without, only this
machine — a loopback peer that no proxy header says was forwarded — and 403 forbidden to anyone else, even when the
server listens on every interface."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from tests.support import Server

TOKEN = "a-metrics-token-of-some-length"


def outside_address() -> str:
    """An address of this machine that is not loopback (the one a route to another network leaves from)."""
    for family, _, _, _, addr in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
        if family == socket.AF_INET and not addr[0].startswith("127."):
            return str(addr[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # no packet is sent by connect() on UDP
        s.connect(("192.0.2.1", 9))
        return str(s.getsockname()[0])


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    base = tmp_path_factory.mktemp("metrics")
    open_ = Server(base / "open" / "data", {"RAGD_SERVER__HOST": "0.0.0.0", "RAGD_INGEST__WORKERS": "0"})
    tokened = Server(base / "token" / "data", {"RAGD_SERVER__HOST": "0.0.0.0", "RAGD_INGEST__WORKERS": "0",
                                               "RAGD_METRICS__TOKEN": TOKEN})
    (base / "open").mkdir()
    (base / "token").mkdir()
    open_.start()
    tokened.start()
    yield open_, tokened
    open_.stop()
    tokened.stop()


def test_without_a_token_only_this_machine_reads_metrics(servers: tuple[Server, Server]) -> None:
    server, _ = servers
    assert httpx.get(f"http://127.0.0.1:{server.port}/metrics").status_code == 200
    outside = outside_address()
    assert not outside.startswith("127."), outside
    r = httpx.get(f"http://{outside}:{server.port}/metrics")
    assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    assert "RAGD_METRICS__TOKEN" in r.json()["detail"]
    for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}, {"X-Real-IP": "203.0.113.9"}):
        r = httpx.get(f"http://127.0.0.1:{server.port}/metrics", headers=header)  # a proxy on this machine
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (header, r.text)
    assert httpx.get(f"http://{outside}:{server.port}/api/v1/health").status_code == 200  # the rest is unchanged


def test_with_a_token_anyone_with_it_reads_metrics(servers: tuple[Server, Server]) -> None:
    _, server = servers
    outside = outside_address()
    for host in ("127.0.0.1", outside):
        assert httpx.get(f"http://{host}:{server.port}/metrics").status_code == 401
        r = httpx.get(f"http://{host}:{server.port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and "rag_requests_total" in r.text
