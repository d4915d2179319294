"""Kill the server in the middle of ingesting a folder, restart it, and every document ends indexed exactly once,
with the dense index consistent with the store."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest
from tests.backend import query
from tests.support import EVALDATA, Server, wait_progressing


def _corpus_files(n: int) -> list[tuple[str, bytes]]:
    import json

    lines = (EVALDATA / "medline" / "corpus.jsonl").read_text().splitlines()
    files = []
    per_file = len(lines) // n
    for i in range(n):
        docs = [json.loads(line) for line in lines[i * per_file : (i + 1) * per_file]]
        body = "\n\n".join(f"## {d.get('title') or d['_id']}\n\n{d['text']}" for d in docs)
        files.append((f"medline-{i:02d}.md", f"# Medline part {i}\n\n{body}\n".encode()))
    return files


def indexed_in_store(store_url: str, ids: list[str]) -> int:
    """How many of ``ids`` the store says are indexed (read directly: the server may be paused)."""
    rows = query(store_url, "SELECT id FROM documents WHERE status = 'indexed'")
    return len({r[0] for r in rows} & set(ids))


@pytest.mark.timeout(3600)
def test_kill_during_ingestion_then_restart(server_factory: Callable[..., Server]) -> None:
    files = _corpus_files(12)
    # On SQLite the restarted server puts the killed one's jobs back at once; on a shared PostgreSQL store another
    # replica may hold them, so they come back when their lease runs out: a short one here
    lease = {"RAGD_INGEST__LEASE_SECONDS": "15"}
    server = server_factory(**lease).start()
    with server.client() as client:
        ids = []
        for name, data in files:
            r = client.post("/api/v1/documents/upload", files={"file": (name, data)})
            assert r.status_code == 201
            ids.append(r.json()["documents"][0]["id"])
        # once ingestion is under way, freeze the server (SIGSTOP), check from the store that it is not finished,
        # and kill -9 it at that very state: no wall-clock race, however slow or fast the machine
        while not any(client.get(f"/api/v1/documents/{i}").json()["status"] == "indexed" for i in ids):
            assert server.proc is not None and server.proc.poll() is None
            time.sleep(0.05)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGSTOP)
    done = indexed_in_store(server.store_url, ids)
    server.kill()
    assert 1 <= done < len(ids), f"{done} of {len(ids)} indexed at the kill; use more data"

    restarted = server_factory(server.data_dir, **lease).start()
    with restarted.client() as client:
        docs = wait_progressing(restarted, client, ids)
        assert all(d["status"] == "indexed" for d in docs.values()), docs
        listing = client.get("/api/v1/documents", params={"limit": 500}).json()
        assert listing["total"] == len(files)  # exactly once: no duplicate documents
        stats = client.get("/api/v1/admin/stats").json()
        assert stats["chunks"] == sum(d["num_chunks"] for d in docs.values())  # no duplicate chunks
        assert stats["consistent"] and stats["vectors"] == stats["chunks"], stats
        assert stats["queue_depth"] == 0
        # the same bytes again are no-ops
        r = client.post("/api/v1/documents/upload", files={"file": files[0]})
        assert r.json()["documents"][0]["duplicate"] is True
