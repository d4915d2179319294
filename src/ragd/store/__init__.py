"""Store adapters, picked by URL scheme.

``open_store("sqlite:////srv/ragd/ragd.sqlite3")`` builds the adapter registered for the URL's scheme (the
part before ``://``, without a ``+driver`` suffix) and migrates its schema. Adapters register a factory
``url -> Store`` in :data:`STORES`; the factory imports its module lazily, so optional drivers (psycopg) are
only needed when their scheme is used. A plain filesystem path means SQLite. Every opener reads URLs with the one
parser in :mod:`ragd.store.url`.
"""

from __future__ import annotations

from collections.abc import Callable

from ragd.errors import ConfigurationError
from ragd.store.base import Store
from ragd.store.url import scheme_of


def _sqlite(url: str) -> Store:
    from ragd.store.sqlite import SqliteStore

    return SqliteStore(url)


#: URL scheme → factory. PostgreSQL registers ``"postgresql"`` (and ``"postgres"``) here.
STORES: dict[str, Callable[[str], Store]] = {"sqlite": _sqlite}


def open_store(url: str, *, migrate: bool = True) -> Store:
    """The store for ``url``, with its schema created or upgraded unless ``migrate=False``."""
    scheme = scheme_of(url)
    factory = STORES.get(scheme)
    if factory is None:
        known = ", ".join(sorted(STORES))
        raise ConfigurationError(f"no store adapter for URL scheme {scheme!r} (known: {known})")
    store = factory(url)
    if migrate:
        store.migrate()
    return store


__all__ = ["STORES", "Store", "open_store", "scheme_of"]
