"""Which store backend a test run uses (``pytest --store-backend sqlite|postgresql``) and where a data directory's
store lives in that run.

The rule (docs/testing.md): on SQLite a store lives in its data directory (``DATA_DIR/ragd.sqlite3``), so two data
directories are two stores. On PostgreSQL a store is a schema of the ``ragd_test`` database, and

- every test gets a fresh schema of its own, set as ``RAGD_STORE__URL`` for the test (tests/conftest.py): the
  ``Settings()`` a test builds in-process, the ``ragd`` commands and the ``ragd serve`` processes it starts all
  see the same store, as they would see the same file on SQLite;
- a data directory may be bound to a schema of its own with :func:`store_url_for` — the way a test opens two
  *independent* stores (two data directories expecting separate databases), and the way servers started by
  module- or session-scoped fixtures (outside any one test) find their store (tests/support.py ``Server``).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal

from ragd.audit.signing import generate_seed_b64
from ragd.store.url import scheme_of, sqlite_path

Name = Literal["sqlite", "postgresql"]
NAMES: tuple[Name, ...] = ("sqlite", "postgresql")


class _Run:
    """The state of this test run (one pytest process)."""

    def __init__(self) -> None:
        self.name: Name = "sqlite"
        self.bound: dict[Path, str] = {}
        self.schemas = ExitStack()
        self.database_ready = False
        self.basetemp: Path | None = None
        #: the store of the running test (PostgreSQL run; set by the ``store_backend`` fixture)
        self.test_url = ""


RUN = _Run()
#: the keys every replica of a PostgreSQL store shares, one pair per test run
SHARED_KEYS = {"RAGD_AUDIT__SIGNING_KEY": generate_seed_b64(), "RAGD_AUTH__JWT_SECRET": secrets.token_urlsafe(40)}


def configure(name: Name) -> None:
    """Set the run's backend. A PostgreSQL store is shared by replicas, so ragd takes the keys they share from the
    settings only (``ragd.core.require_shared_secrets``): the run sets them once, for every process it starts."""
    RUN.name = name
    if name == "postgresql":
        for key, value in SHARED_KEYS.items():
            os.environ.setdefault(key, value)


def name() -> Name:
    return RUN.name


def postgresql() -> bool:
    return RUN.name == "postgresql"


def ensure_database() -> None:
    """``ragd_test`` present with pgvector, and the schemas an interrupted earlier run left behind dropped (once
    per run)."""
    from tests import pg

    if not RUN.database_ready:
        pg.ensure_database()
        pg.drop_leftover_schemas()
        RUN.database_ready = True


def store_url_for(data_dir: Path) -> str:
    """The store URL of ``data_dir`` in this run: SQLite's file in the directory, or (PostgreSQL) a fresh schema
    bound to the directory for the rest of the run, so a server restarted on the same directory finds its store
    again, and another directory gets another store."""
    key = data_dir.resolve()
    if not postgresql():
        return f"sqlite:///{key / 'ragd.sqlite3'}"
    if key not in RUN.bound:
        from tests import pg

        ensure_database()
        RUN.bound[key] = RUN.schemas.enter_context(pg.fresh_schema())
    return RUN.bound[key]


def url_of(data_dir: Path) -> str:
    """The store a process working on ``data_dir`` must use: on PostgreSQL the schema bound to the directory if
    one is (:func:`store_url_for`), else the running test's, else (outside any test: a module- or session-scoped
    fixture) a schema bound to the directory now; on SQLite the directory's file."""
    if not postgresql():
        return store_url_for(data_dir)
    return RUN.bound.get(data_dir.resolve()) or RUN.test_url or store_url_for(data_dir)


def store_env_for(data_dir: Path) -> dict[str, str]:
    """``RAGD_STORE__URL`` (and the shared keys) for a ``ragd`` subprocess working on ``data_dir`` (empty on SQLite:
    the directory names the store)."""
    return {"RAGD_STORE__URL": url_of(data_dir), **SHARED_KEYS} if postgresql() else {}


def test_store_url(data_dir: Path) -> str:
    """The store a test's ``Settings(data_dir=data_dir)`` opens: the test's schema (PostgreSQL run) or the data
    directory's file."""
    return RUN.test_url if postgresql() and RUN.test_url else store_url_for(data_dir)


def store_env() -> dict[str, str]:
    """The running test's store as environment variables, for a subprocess started with a cleaned environment
    (empty on SQLite: the data directory names the store)."""
    return {"RAGD_STORE__URL": RUN.test_url, **SHARED_KEYS} if postgresql() and RUN.test_url else {}


def close() -> None:
    """Drop the schemas bound to data directories (end of the run)."""
    RUN.schemas.close()
    RUN.bound.clear()


def stray_sqlite_stores() -> list[Path]:
    """``ragd.sqlite3`` files under this run's temporary directories: in a PostgreSQL run each is a store that
    silently went to SQLite (a test or fixture that built its settings outside the test's environment)."""
    if RUN.basetemp is None or not RUN.basetemp.is_dir():
        return []
    return sorted(RUN.basetemp.rglob("ragd.sqlite3"))


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of one read-only SQL statement on the store at ``url``, read directly over a connection of its own
    (the server owning the store may be busy or paused). Plain SQL both engines read alike."""
    if scheme_of(url) == "sqlite":
        conn = sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True, timeout=60)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg_conn:
        return [tuple(row) for row in pg_conn.execute(sql).fetchall()]


def stored_originals(data_dir: Path, store_url: str | None = None) -> dict[str, bytes]:
    """The originals as stored (encrypted or not), by document id: files under ``DATA_DIR/files`` on SQLite, rows
    of the ``blobs`` table on PostgreSQL (``store_url``: the store's, default the data directory's in this run)."""
    url = store_url or url_of(data_dir)
    if scheme_of(url) == "sqlite":
        return {p.name: p.read_bytes() for p in (data_dir / "files").glob("*/*") if not p.name.startswith(".")}
    return {key: bytes(data) for key, data in query(url, "SELECT key, data FROM blobs")}


def write_original(data_dir: Path, key: str, data: bytes) -> None:
    """Overwrite one stored original behind ragd's back (a test of what ragd does with a damaged or foreign one)."""
    url = url_of(data_dir)
    if scheme_of(url) == "sqlite":
        (data_dir / "files" / key[-2:] / key).write_bytes(data)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("UPDATE blobs SET data = %s WHERE key = %s", (data, key)).rowcount == 1
