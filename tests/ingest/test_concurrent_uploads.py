"""Uploads racing each other against a real server (issue 14): identical bytes end as one document, concurrent new
versions of one file name end as one live document (the last one stored), with no chunk left behind."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from tests.backend import stored_originals
from tests.support import Server

from ragd.store.backend import open_backend

ROUNDS = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("races") / "data", {})
    s.start()
    yield s
    s.stop()


def race(n: int, fn: Callable[[int], dict]) -> list[dict]:
    """``fn(i)`` on ``n`` threads released together; their results in order."""
    barrier = threading.Barrier(n)
    out: list[dict | None] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(120)
            out[i] = fn(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    return [o for o in out if o is not None]


def upload(server: Server, name: str, data: bytes, collection: str) -> dict:
    with httpx.Client(base_url=server.url, timeout=120) as http:
        r = http.post("/api/v1/documents/upload", files=[("file", (name, data))], data={"collection": collection})
        assert r.status_code == 201, r.text
        return r.json()["documents"][0]


def documents(server: Server, collection: str) -> list[dict]:
    with server.client() as http:
        r = http.get("/api/v1/documents", params={"collection": collection, "limit": 500})
        assert r.status_code == 200, r.text
        return r.json()["documents"]


def test_concurrent_identical_uploads_make_one_document(server: Server) -> None:
    collection = "same-" + uuid.uuid4().hex[:6]
    for round_ in range(ROUNDS):
        data = f"Round {round_}: the warranty covers parts for {round_ + 2} years.".encode()
        got = race(16, lambda i, d=data, r=round_: upload(server, f"copy-{r}-{i}.txt", d, collection))
        ids = {d["id"] for d in got}
        assert len(ids) == 1, f"round {round_}: {len(ids)} documents for the same bytes"
        assert sum(not d["duplicate"] for d in got) == 1  # exactly one upload stored it
    docs = documents(server, collection)
    assert len(docs) == ROUNDS
    with server.client() as http:
        done = server.wait_done(http, [d["id"] for d in docs])
    assert {d["status"] for d in done.values()} == {"indexed"}
    assert_files_match_documents(server)


def assert_files_match_documents(server: Server) -> None:
    """Every stored original belongs to a document and every document has its original: the losers of a race
    leave no file behind, replaced versions take theirs with them."""
    stored = set(stored_originals(server.data_dir, server.store_url))
    opened = open_backend(server.store_url)
    try:
        ids = {d.id for d in opened.store.list_documents(limit=100_000)[0]}
    finally:
        opened.close()
    assert stored == ids


def test_concurrent_new_versions_leave_one_live_document(server: Server) -> None:
    collection = "versions-" + uuid.uuid4().hex[:6]
    with server.client() as http:
        for round_ in range(ROUNDS // 2):
            name = f"policy-{round_}.txt"
            first = upload(server, name, f"Policy {round_}, version 0: refunds in 30 days.".encode(), collection)
            server.wait_done(http, [first["id"]])
            got = race(8, lambda i, n=name, r=round_: upload(
                server, n, f"Policy {r}, version {i + 1}: refunds in {i + 1} days. ".encode() * (i + 1), collection))
            assert len({d["id"] for d in got}) == 8 and not any(d["duplicate"] for d in got)
            live = settled(http, collection, name)
            assert len(live) == 1, f"round {round_}: {len(live)} live versions of {name}"
            newest = max(got, key=lambda d: d["created_at"])  # the last one stored wins
            assert live[0]["id"] == newest["id"] and live[0]["status"] == "indexed"
    opened = open_backend(server.store_url)
    store = opened.store
    try:
        docs, _ = store.list_documents(collection=collection, limit=1000)
        assert store.count_chunks(collection) == sum(d.num_chunks for d in docs)
        for d in docs:
            assert len(store.list_chunks(d.id)) == d.num_chunks
    finally:
        opened.close()
    assert_files_match_documents(server)


def settled(http: httpx.Client, collection: str, name: str, timeout: float = 900.0) -> list[dict]:
    """The documents named ``name`` once none of them is still being processed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = http.get("/api/v1/documents", params={"collection": collection, "q": name, "limit": 500})
        assert r.status_code == 200, r.text
        docs = [d for d in r.json()["documents"] if d["filename"] == name]
        if all(d["status"] in ("indexed", "failed") for d in docs):
            return docs
        threading.Event().wait(0.2)  # poll the state again
    raise AssertionError(f"versions of {name} still processing after {timeout} s: {docs}")
