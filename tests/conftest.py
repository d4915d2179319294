"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support import Server


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def make(data_dir: Path | None = None, **env: str) -> Server:
        s = Server(data_dir or tmp_path / "data", env)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def pg_database() -> str:
    """``ragd_test`` on the local PostgreSQL, with pgvector (never skipped: a missing server fails the test)."""
    from tests import pg

    pg.ensure_database()
    pg.drop_leftover_schemas()
    return pg.TEST_DB_URL


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A PostgreSQL store URL over a fresh, empty schema of its own."""
    from tests import pg

    with pg.fresh_schema() as url:
        yield url
