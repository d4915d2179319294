"""The SQLite identity store: the shared conformance suite (:mod:`ragd.testing.identity_conformance`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragd.auth.identities import IdentityStore
from ragd.store.sqlite.identities import SqliteIdentityStore
from ragd.testing.identity_conformance import IdentityStoreConformance

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations


class TestSqliteIdentities(IdentityStoreConformance):
    @pytest.fixture
    def identities(self, tmp_path: Path) -> Iterator[IdentityStore]:
        store = SqliteIdentityStore(tmp_path / "ragd.sqlite3")
        store.migrate()
        yield store
        store.close()
