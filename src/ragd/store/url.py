"""The one parser of database URLs: every opener (store, identities, conversations, audit log, rate limits,
backup, doctor) reads its URL through :func:`parse_url`, so a URL means the same file to each of them.

* ``sqlite:////abs/ragd.sqlite3`` → the file ``/abs/ragd.sqlite3`` (four slashes: an absolute path);
* ``sqlite:///rel/ragd.sqlite3`` → ``rel/ragd.sqlite3``, relative to the working directory (three slashes);
* a plain path without ``://`` (``/srv/ragd/ragd.sqlite3``, ``ragd.sqlite3``) means SQLite at that path;
* anything else with ``scheme://`` (``postgresql+psycopg://…``, ``redis://…``) names its scheme, lower-cased and
  without the ``+driver`` suffix, for the caller's registry of adapters; it has no SQLite path.

A query string on a SQLite URL (``?mode=…``) is ignored; an in-memory database is refused (each connection would
see a database of its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ragd.errors import ConfigurationError

SQLITE = "sqlite"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SQLITE_WITHOUT_SLASHES = re.compile(r"^sqlite(\+[A-Za-z0-9_]+)?:(?!//)", re.I)
_SQLITE_FORMS = "a SQLite URL looks like sqlite:///relative or sqlite:////absolute"


@dataclass(frozen=True, slots=True)
class ParsedURL:
    scheme: str
    """``"sqlite"``, ``"postgresql"``, ``"redis"``…: lower case, without ``+driver``."""
    url: str
    """The URL as given."""
    path: Path | None
    """The database file when ``scheme == "sqlite"``, else ``None``."""


def parse_url(url: str | Path) -> ParsedURL:
    """Split a store (or rate-limit) URL into its scheme and, for SQLite, its file. Raises
    :class:`~ragd.errors.ConfigurationError` for a malformed SQLite URL or an in-memory database."""
    text = str(url).strip()
    if not text:
        raise ConfigurationError("empty database URL")
    m = _SCHEME.match(text)
    if m is None:
        if _SQLITE_WITHOUT_SLASHES.match(text):
            raise ConfigurationError(f"{_SQLITE_FORMS} (got {text!r})")
        return ParsedURL(SQLITE, text, _sqlite_file(text))
    scheme = m.group(1).split("+", 1)[0].lower()
    if scheme != SQLITE:
        return ParsedURL(scheme, text, None)
    rest = text[m.end():]
    if not rest.startswith("/"):
        raise ConfigurationError(f"{_SQLITE_FORMS} (got {text!r})")
    return ParsedURL(SQLITE, text, _sqlite_file(rest[1:]))


def _sqlite_file(text: str) -> Path:
    text = text.split("?", 1)[0]
    if not text or text == ":memory:" or text.startswith("file::memory:"):
        raise ConfigurationError("the SQLite store needs a file path (in-memory databases are not supported)")
    return Path(text)


def sqlite_path(url: str | Path) -> Path:
    """The SQLite file a URL or plain path names; :class:`ConfigurationError` for any other scheme."""
    parsed = parse_url(url)
    if parsed.path is None:
        raise ConfigurationError(f"not a SQLite URL: {parsed.url!r}")
    return parsed.path


def scheme_of(url: str | Path) -> str:
    """``"postgresql+psycopg://…"`` → ``"postgresql"``; a plain path → ``"sqlite"``."""
    return parse_url(url).scheme


_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*):[^@/?#]*@")


def masked(url: str | Path) -> str:
    """The URL with its password replaced by ``***`` (for messages and logs): ``postgresql://ragd:***@db/ragd``."""
    return _PASSWORD.sub(r"\1:***@", str(url).strip())


def libpq_url(url: str) -> str:
    """A PostgreSQL URL as libpq reads it: ``postgresql+psycopg://…`` and ``postgres://…`` become
    ``postgresql://…``; the rest (user, password, host, port, database, query options) is kept."""
    parsed = parse_url(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise ConfigurationError(f"not a PostgreSQL URL: {masked(url)!r}")
    m = _SCHEME.match(parsed.url)
    assert m is not None
    return "postgresql://" + parsed.url[m.end():]
