"""Shared fixtures, and the store backend of the run (``--store-backend``, tests/backend.py, docs/testing.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests import backend
from tests.support import Server

from ragd.store.base import Store

SQLITE_ONLY_WHY = "they test the SQLite engine itself: its file, modes, pragmas, migrations, FTS5, file backup"
_LEFT_OUT = pytest.StashKey[int]()
_MISPLACED = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-backend", choices=backend.NAMES, default="sqlite",
        help="store backend every test runs on (default sqlite); postgresql: a fresh schema of ragd_test on "
        "127.0.0.1:5432 per test, and the tests marked sqlite_only are left out",
    )


def pytest_configure(config: pytest.Config) -> None:
    backend.configure(config.getoption("--store-backend"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"store backend: {backend.name()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the SQLite engine's own tests, explicitly (deselected and counted in the summary,
    never skipped in silence)."""
    if not backend.postgresql():
        return
    left_out = [item for item in items if item.get_closest_marker("sqlite_only")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("sqlite_only")]
    config.stash[_LEFT_OUT] = len(left_out)


def _misplaced_stores() -> list[str]:
    """Stores of a PostgreSQL run that went elsewhere: to SQLite (a ``ragd.sqlite3`` under the run's temporary
    directories) or to ``ragd_test``'s ``public`` schema."""
    from tests import pg

    found = [f"SQLite file {p}" for p in backend.stray_sqlite_stores()]
    if backend.RUN.database_ready:
        found += [f"table public.{t} in {pg.DATABASE}" for t in pg.tables_in_public()]
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A PostgreSQL run fails if any store silently went somewhere else than the test's schema."""
    if backend.postgresql():
        misplaced = _misplaced_stores()
        session.config.stash[_MISPLACED] = misplaced
        if misplaced and exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    backend.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if not backend.postgresql():
        return
    left_out = config.stash.get(_LEFT_OUT, 0)
    terminalreporter.write_line(
        f"store backend postgresql: {left_out} tests marked sqlite_only left out ({SQLITE_ONLY_WHY})"
    )
    misplaced = config.stash.get(_MISPLACED, [])
    if misplaced:
        terminalreporter.write_line(
            f"store backend postgresql: FAILED, {len(misplaced)} store(s) not in a test schema: "
            + "; ".join(misplaced), red=True,
        )


@pytest.fixture(scope="session", autouse=True)
def _run_basetemp(tmp_path_factory: pytest.TempPathFactory) -> None:
    backend.RUN.basetemp = tmp_path_factory.getbasetemp()


@pytest.fixture(autouse=True)
def store_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test's store: on PostgreSQL a fresh schema, set as ``RAGD_STORE__URL`` for the test (in-process
    ``Settings()``, ``ragd`` commands and servers it starts); on SQLite nothing changes (the data directory's
    file). Yields the backend's name."""
    if not backend.postgresql():
        yield "sqlite"
        return
    from tests import pg

    backend.ensure_database()
    with pg.fresh_schema() as url:
        monkeypatch.setenv("RAGD_STORE__URL", url)
        backend.RUN.test_url = url
        try:
            yield "postgresql"
        finally:
            backend.RUN.test_url = ""


@pytest.fixture
def run_store(tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store port on the run's backend (the test's own store), closed afterwards."""
    from ragd.store.backend import open_backend

    opened = open_backend(backend.test_store_url(tmp_path))
    try:
        yield opened.store
    finally:
        opened.close()


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

    backend.ensure_database()
    return pg.TEST_DB_URL


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A PostgreSQL store URL over a fresh, empty schema of its own."""
    from tests import pg

    with pg.fresh_schema() as url:
        yield url
