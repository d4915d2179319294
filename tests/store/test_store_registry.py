"""The one storage registry: ``open_backend`` picks the engine by URL scheme and hands out every port."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragd.audit.signing import load_or_create_key_file
from ragd.errors import ConfigurationError
from ragd.store.backend import BACKENDS, Backend, open_backend
from ragd.store.base import Store
from ragd.store.sqlite import SqliteStore
from ragd.store.url import scheme_of

pytestmark = pytest.mark.sqlite_only  # opens the SQLite adapter by URL


def test_scheme_of() -> None:
    assert scheme_of("sqlite:////x.db") == "sqlite"
    assert scheme_of("postgresql+psycopg://u@h/db") == "postgresql"
    assert scheme_of("/plain/path.sqlite3") == "sqlite"


def test_unknown_scheme_is_a_configuration_error() -> None:
    assert {"sqlite", "postgresql"} <= set(BACKENDS)
    with pytest.raises(ConfigurationError, match=r"no storage backend for URL scheme 'mongodb' \(known: .*sqlite"):
        open_backend("mongodb://localhost/x")


def test_a_plain_path_is_sqlite_and_migrated(tmp_path: Path) -> None:
    backend = open_backend(str(tmp_path / "data" / "ragd.sqlite3"))
    try:
        assert isinstance(backend, Backend) and backend.engine == "sqlite"
        assert isinstance(backend.store, SqliteStore) and isinstance(backend.store, Store)
        backend.store.set_meta("ready", "yes")  # the schema exists
        assert backend.store.get_meta("ready") == "yes"
        assert backend.blobs is None  # originals stay files beside a SQLite store
    finally:
        backend.close()


def test_one_backend_hands_out_ports_over_one_pool(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ragd.sqlite3"
    signer = load_or_create_key_file(tmp_path / "audit.key")
    backend = open_backend(url)
    try:
        assert backend.store is backend.store  # one port object each, handed out again
        ports = [backend.store, backend.identities, backend.conversations, backend.audit_log(signer)]
        pools = {id(p._db._pool) for p in ports}  # type: ignore[attr-defined]
        assert pools == {id(backend._db._pool)}  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError), backend.unit_of_work():  # one transaction across ports
            backend.identities.ensure_tenant("acme", 1.0)
            backend.store.set_meta("k", "v")
            raise RuntimeError("crash before commit")
        assert backend.store.get_meta("k") is None and not backend.identities.tenant_exists("acme")
    finally:
        backend.close()
    for p in ports:  # closing the backend closes every port it handed out
        with pytest.raises(Exception, match="closed"):
            p._db.conn()  # type: ignore[attr-defined]
