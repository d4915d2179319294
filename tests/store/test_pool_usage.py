"""The connection pool's usage (``Backend.pool_usage``, exported as ``ragd_db_pool_*``), on both engines: connections
lent and idle, the pool's size, and the threads waiting once every connection is lent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests import backend as run
from tests.jobs.workers import wait_until

from ragd.store.backend import Backend, open_backend
from ragd.store.postgres import connection as pg_connection
from ragd.store.sqlite import connection as sqlite_connection


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    opened = open_backend(run.test_store_url(tmp_path / "data"))
    try:
        yield opened
    finally:
        opened.close()


def _pool_size(backend: Backend) -> int:
    return sqlite_connection.POOL_SIZE if backend.engine == "sqlite" else pg_connection.POOL_SIZE


def test_at_rest_nothing_is_lent_and_a_transaction_holds_one(backend: Backend) -> None:
    usage = backend.pool_usage()
    # (idle may be 0 a moment: PostgreSQL's pool reopens its connections in the background after a migration)
    assert usage.in_use == 0 and usage.waiting == 0 and usage.idle <= usage.max == _pool_size(backend)
    with backend.unit_of_work():
        during = backend.pool_usage()
        assert during.in_use == 1 and during.waiting == 0
    assert backend.pool_usage().in_use == 0


def test_a_full_pool_makes_the_next_thread_wait_and_says_so(backend: Backend) -> None:
    size = _pool_size(backend)
    db = backend._db  # type: ignore[attr-defined]  # the backend's Database: hold its connections from threads
    release = threading.Event()
    holding = threading.Semaphore(0)

    def hold() -> None:
        with db.connection():
            holding.release()
            release.wait(60)

    threads = [threading.Thread(target=hold, daemon=True) for _ in range(size + 1)]
    try:
        for t in threads[:size]:
            t.start()
        for _ in range(size):
            assert holding.acquire(timeout=60), "a thread did not get its connection"
        full = backend.pool_usage()
        assert (full.in_use, full.idle, full.max, full.waiting) == (size, 0, size, 0)
        threads[size].start()  # one more: it waits for a connection
        waiting = wait_until(lambda: (u := backend.pool_usage()).waiting == 1 and u, "a thread waiting")
        assert waiting.in_use == size
    finally:
        release.set()
        for t in threads:
            if t.is_alive() or t.ident is not None:
                t.join(60)
    after = backend.pool_usage()
    assert after.in_use == 0 and after.waiting == 0 and after.idle == size
