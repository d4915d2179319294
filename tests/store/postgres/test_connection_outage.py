"""The connection pool through a short outage (found by tests/e2e/test_worker_faults.py): a statement that started
waiting for a connection while PostgreSQL was unreachable gets one once the database is back, instead of waiting
out its whole checkout timeout (30 s) and failing — the pool keeps trying to reconnect in the background for as
long as a checkout may wait. The outage is a cut :class:`tests.tcpproxy.TcpProxy`; the shared server runs on."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from tests.jobs.workers import wait_until
from tests.tcpproxy import TcpProxy

from ragd.errors import StoreUnavailable
from ragd.store.postgres.connection import Database


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    p = TcpProxy(("127.0.0.1", 5432))
    yield p
    p.close()


def test_a_statement_waiting_through_an_outage_runs_once_the_database_is_back(pg_url: str, proxy: TcpProxy) -> None:
    db = Database(pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"))
    try:
        db.ping()
        proxy.cut()  # the pooled connection resets; new ones are refused
        outcome: list[object] = []

        def select() -> None:
            try:
                outcome.append(db.conn().execute("SELECT 41 + 1").fetchone()[0])
            except StoreUnavailable as exc:
                outcome.append(exc)

        waiting = threading.Thread(target=select)
        waiting.start()
        # the pool failed to reconnect twice (with the old setting it had given up by then, for good)
        wait_until(lambda: db.pool_stats().get("connections_errors", 0) >= 2, "two failed reconnections",
                   timeout=60)
        assert not outcome  # still waiting for a connection
        proxy.restore()
        waiting.join(120)
        assert outcome == [42]
    finally:
        db.close()
