"""The store registry: adapters picked by URL scheme."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragd.errors import ConfigurationError
from ragd.store import STORES, open_store, scheme_of
from ragd.store.base import Store
from ragd.store.sqlite import SqliteStore

pytestmark = pytest.mark.sqlite_only  # opens the SQLite adapter by URL


def test_scheme_of() -> None:
    assert scheme_of("sqlite:////x.db") == "sqlite"
    assert scheme_of("postgresql+psycopg://u@h/db") == "postgresql"
    assert scheme_of("/plain/path.sqlite3") == "sqlite"


def test_open_store_sqlite_migrates(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/data/ragd.sqlite3")
    try:
        assert isinstance(store, SqliteStore) and isinstance(store, Store)
        store.set_meta("ready", "yes")  # the schema exists
        assert store.get_meta("ready") == "yes"
    finally:
        store.close()


def test_unknown_scheme_is_a_configuration_error() -> None:
    assert "sqlite" in STORES
    with pytest.raises(ConfigurationError, match=r"known: .*sqlite"):
        open_store("mongodb://localhost/x")
