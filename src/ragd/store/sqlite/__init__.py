"""The SQLite adapter of the Store port (embedded default). See :mod:`ragd.store.sqlite.store`."""

from ragd.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
