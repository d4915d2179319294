"""One parser for store URLs: a plain path, ``sqlite:///relative`` and ``sqlite:////absolute`` name the same file to
every port (store, identities, conversations, audit log, rate limits, backup), and a server starts on each form."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from ragd.audit.signing import load_or_create_key_file
from ragd.auth.ratelimit import open_rate_limiter
from ragd.config import Settings
from ragd.errors import ConfigurationError
from ragd.ops.backup import store_file
from ragd.store.backend import open_backend
from ragd.store.url import parse_url, scheme_of, sqlite_path

pytestmark = pytest.mark.sqlite_only  # SQLite URL forms and the file they name


def forms(root: Path) -> list[tuple[str, Path]]:
    """(URL as an operator writes it, the file it must mean) with the working directory at ``root``."""
    return [
        (str(root / "abs-plain" / "ragd.sqlite3"), root / "abs-plain" / "ragd.sqlite3"),
        ("rel-plain/ragd.sqlite3", root / "rel-plain" / "ragd.sqlite3"),
        ("sqlite:///rel-url/ragd.sqlite3", root / "rel-url" / "ragd.sqlite3"),
        (f"sqlite:///{root / 'abs-url' / 'ragd.sqlite3'}", root / "abs-url" / "ragd.sqlite3"),  # four slashes
        (f"sqlite+pysqlite:///{root / 'driver' / 'ragd.sqlite3'}", root / "driver" / "ragd.sqlite3"),
    ]


def test_parse_url_forms() -> None:
    assert parse_url("sqlite:////srv/ragd/x.sqlite3").path == Path("/srv/ragd/x.sqlite3")
    assert parse_url("sqlite:///rel/x.sqlite3").path == Path("rel/x.sqlite3")
    assert parse_url("/abs/x.sqlite3").path == Path("/abs/x.sqlite3")
    assert parse_url("x.sqlite3").path == Path("x.sqlite3")
    assert parse_url("SQLite:///x.sqlite3?mode=rwc").path == Path("x.sqlite3")
    assert parse_url("postgresql+psycopg://u:p@h/db").path is None
    assert scheme_of("postgresql+psycopg://u@h/db") == "postgresql"
    assert scheme_of("redis://:pw@h:6379/0") == "redis"
    assert scheme_of("relative/ragd.sqlite3") == "sqlite"
    for bad in ("", "sqlite:///:memory:", "sqlite://", "sqlite://host/x", "sqlite:x.db", "sqlite:///"):
        with pytest.raises(ConfigurationError):
            parse_url(bad)
    with pytest.raises(ConfigurationError):
        sqlite_path("postgresql://h/db")


def test_every_port_opens_the_same_file_for_every_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    signer = load_or_create_key_file(tmp_path / "keys" / "audit.key")
    for url, expected in forms(tmp_path):
        backend = open_backend(url)
        limiter = open_rate_limiter(url.replace("ragd.sqlite3", "ratelimit.sqlite3"), tmp_path)
        try:
            backend.identities.ensure_tenant("acme", 1.0)
            backend.store.set_meta("written-through", "store")
            backend.conversations.create_conversation("u1", "hello")
            backend.audit_log(signer).append("test.event", tenant_id="acme", actor=None)
            assert limiter.hit("k", 10, 60).allowed
        finally:
            limiter.close()
            backend.close()
        assert store_file(Settings(data_dir=tmp_path / "unused", store={"url": url})).resolve() == expected
        assert limiter.path.resolve() == expected.with_name("ratelimit.sqlite3")  # type: ignore[attr-defined]
        with sqlite3.connect(expected) as conn:  # every port wrote into the one file the URL names
            assert conn.execute("SELECT value FROM meta WHERE key = 'written-through'").fetchone() == ("store",)
            assert conn.execute("SELECT COUNT(*) FROM tenants WHERE id = 'acme'").fetchone() == (1,)
            assert conn.execute("SELECT COUNT(*) FROM conversations").fetchone() == (1,)
            assert conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'test.event'").fetchone() == (1,)


@pytest.mark.parametrize("form", ["plain", "url"])
def test_server_starts_with_a_plain_path_or_url_store(server_factory, tmp_path: Path, form: str) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "elsewhere" / "ragd.sqlite3"
    url = str(db) if form == "plain" else f"sqlite:///{db}"
    server = server_factory(RAGD_STORE__URL=url, RAGD_AUTH__ENABLED="true").start()
    r = httpx.get(server.url + "/api/v1/auth/me", timeout=30)
    assert r.status_code == 401  # the identity store answered: no credential
    assert db.is_file()
