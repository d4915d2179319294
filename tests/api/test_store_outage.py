"""PostgreSQL lost while ragd serves (issue 15, faults): requests get ``503 store_unavailable`` with Retry-After
at once (no hang, no 500), readiness says not ready, nothing acknowledged is lost, and ragd reconnects by itself
when the database comes back. The outage is real: the network between ragd and PostgreSQL is cut by a TCP proxy on
loopback (tests/tcpproxy.py), the shared server keeps running."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.backend import SHARED_KEYS
from tests.support import Server
from tests.tcpproxy import TcpProxy


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        pause.wait(0.2)
    return check()


def test_outage_gives_503_then_recovers_without_losing_anything(tmp_path: Path, pg_url: str) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    url = pg_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    server = Server(tmp_path / "data", {"RAGD_STORE__URL": url, **SHARED_KEYS}).start()
    try:
        with server.client() as c:
            r = c.post("/api/v1/documents/upload", files=[("file", ("a.txt", b"The turbine blade alloy."))])
            assert r.status_code == 201, r.text
            kept = r.json()["documents"][0]["id"]
            assert server.wait_done(c, [kept])[kept]["status"] == "indexed"

            proxy.cut()
            t0 = time.monotonic()
            r = c.get("/api/v1/documents")
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "store_unavailable"
            assert int(r.headers["Retry-After"]) >= 1
            assert "ragd:***@" in r.json()["detail"] or "ragd@" in r.json()["detail"]
            up = c.post("/api/v1/documents/upload", files=[("file", ("b.txt", b"lost while down"))])
            assert up.status_code == 503, up.text  # refused, so not acknowledged
            assert c.get("/api/v1/ready").status_code == 503
            assert time.monotonic() - t0 < 60  # answered, not hung on the pool

            proxy.restore()
            assert wait_until(lambda: c.get("/api/v1/ready").status_code == 200, timeout=60)
            docs = c.get("/api/v1/documents").json()
            assert [d["id"] for d in docs["documents"]] == [kept]
            again = c.post("/api/v1/documents/upload", files=[("file", ("b.txt", b"after the outage"))])
            assert again.status_code == 201, again.text
            new = again.json()["documents"][0]["id"]
            assert server.wait_done(c, [new])[new]["status"] == "indexed"
            hits = c.post("/api/v1/query", json={"query": "turbine blade alloy", "answer": False}).json()
            assert kept in {h["document_id"] for h in hits["results"]}
    finally:
        server.stop()
        proxy.close()
