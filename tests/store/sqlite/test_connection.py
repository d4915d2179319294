"""SQLite connections are bounded: one pool per database file per process, shared by every port and thread.

A real server under a burst of concurrent requests from many client threads keeps at most a fixed number of
connections to its database (counted as file descriptors on ``*.sqlite3`` in ``/proc/PID/fd``) and its resident
memory stays within a generous bound; in-process, the pool keeps its transaction semantics.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.support import Server

from ragd.store.sqlite import SqliteStore
from ragd.store.sqlite.connection import POOL_SIZE, Database
from ragd.store.sqlite.conversations import SqliteConversationStore
from ragd.store.sqlite.identities import SqliteIdentityStore
from ragd.testing.store_conformance import make_doc

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations

CLIENTS = 32
ROUNDS = 6
BOUND = 8 + 1  # the pool (POOL_SIZE, pinned below) + the rate-limit database's one connection
RSS_GROWTH_MB = 250  # generous: the burst itself needs thread stacks and response buffers, not a cache per thread


def sqlite_fds(pid: int) -> int:
    """Open file descriptors of ``pid`` on database files (each connection holds one on its database)."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        n += target.endswith(".sqlite3")
    return n


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def burst(server: Server, requests: list[Callable[[httpx.Client], httpx.Response]]) -> list[int]:
    """Every client thread runs every request ``ROUNDS`` times, all starting together; returns the statuses."""
    start = threading.Barrier(CLIENTS)
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=server.url, timeout=120) as c:
            start.wait(timeout=120)
            for _ in range(ROUNDS):
                for request in requests:
                    code = request(c).status_code
                    with lock:
                        statuses.append(code)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return statuses


def test_connections_stay_bounded_under_a_concurrent_burst(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory().start()
    assert server.proc is not None
    pid = server.proc.pid
    with server.client() as c:
        up = c.post("/api/v1/documents/upload", files=[("file", ("a.txt", b"Uruguay borders Brazil and Argentina."))])
        assert up.status_code == 201, up.text
        conv = c.post("/api/v1/chat", json={"messages": [{"role": "user", "content": "Uruguay?"}]})
        assert conv.status_code == 200, conv.text
    requests: list[Callable[[httpx.Client], httpx.Response]] = [
        lambda c: c.get("/api/v1/documents"),  # the store
        lambda c: c.post("/api/v1/query", json={"query": "Which countries border Uruguay?", "answer": False}),
        lambda c: c.get("/api/v1/collections"),  # identities
        lambda c: c.get("/api/v1/conversations"),  # conversations
        lambda c: c.get("/api/v1/admin/audit"),  # the audit log
    ]
    burst(server, requests[:1])  # warm-up: imports, first allocations
    before = rss_mb(pid)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sqlite_fds(pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        statuses = burst(server, requests)
    finally:
        done.set()
        sampler.join()
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    after = sqlite_fds(pid)
    growth = rss_mb(pid) - before
    assert max(peak[0], after) <= BOUND, f"{peak[0]} connections at peak, {after} after the burst (bound {BOUND})"
    assert growth < RSS_GROWTH_MB, f"RSS grew by {growth:.0f} MB during the burst"


def test_pool_size_is_the_documented_bound() -> None:
    assert POOL_SIZE == BOUND - 1  # docs/architecture.md states it


def test_every_port_over_one_file_shares_one_bounded_pool(tmp_path: Path) -> None:
    path = tmp_path / "ragd.sqlite3"
    store = SqliteStore(path)
    store.migrate()
    identities = SqliteIdentityStore(f"sqlite:///{path}")
    conversations = SqliteConversationStore(path)
    for i in range(20):
        store.add_document(make_doc(f"d{i}"))
    start = threading.Barrier(24)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait(timeout=60)
            for k in range(30):
                assert store.get_document(f"d{(i + k) % 20}") is not None
                identities.ensure_tenant(f"t{i}", float(k))
                conversations.create_conversation(f"u{i}", "x")
                store.set_meta(f"k{i}", str(k))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:3]
    assert store._db.open_connections() <= POOL_SIZE
    assert store._db._pool is identities._db._pool is conversations._db._pool
    assert conversations.list_conversations("u3")[1] == 30
    for port in (conversations, identities):
        port.close()
    assert store.get_meta("k0") == "29"  # the others' close left the store's handle working
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.get_meta("k0")


def test_transactions_keep_their_semantics(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.sqlite3")
    other = Database(f"sqlite:///{tmp_path / 't.sqlite3'}")
    with db.write() as c:
        c.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), db.write() as c:
        c.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("rolled back")
    assert db.conn().execute("SELECT COUNT(*) FROM t").fetchone() == (0,)
    with db.write() as c:
        c.execute("INSERT INTO t VALUES (1)")
        # a statement or a nested write through another port on this thread joins the transaction
        assert other.conn().execute("SELECT COUNT(*) FROM t").fetchone() == (1,)
        with pytest.raises(ValueError), other.write() as inner:
            inner.execute("INSERT INTO t VALUES (2)")
            raise ValueError("only the savepoint is rolled back")
        with other.write() as inner:
            inner.execute("INSERT INTO t VALUES (3)")
        seen = threading.Event()
        outside: list[tuple[int]] = []

        def look() -> None:  # another thread does not see uncommitted rows
            outside.append(db.conn().execute("SELECT COUNT(*) FROM t").fetchone())
            seen.set()

        threading.Thread(target=look).start()
        assert seen.wait(60)
        assert outside == [(0,)]
    assert sorted(db.conn().execute("SELECT x FROM t").fetchall()) == [(1,), (3,)]
    with db.read() as c:
        assert c.execute("SELECT COUNT(*) FROM t").fetchone() == (2,)
    db.close()
    other.close()
