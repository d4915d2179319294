"""What both storage backends do the same way over their own ``Database`` and migration chain: keep the ports they
hand out (closed with the backend), migrate, report the schema version, run a unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar

P = TypeVar("P")


class BackendBase:
    """Subclasses set ``_db`` (their engine's ``Database``) and ``_schema`` (the module with ``migrate``,
    ``schema_version`` and ``MIGRATIONS``)."""

    _db: Any
    _schema: ModuleType

    def __init__(self) -> None:
        self._ports: list[Any] = []

    def _port(self, port: P) -> P:
        """Remember a port so :meth:`close` closes it."""
        self._ports.append(port)
        return port

    def migrate(self) -> int:
        return int(self._db.migrate(self._schema.migrate))

    def schema_status(self) -> tuple[int, int]:
        """``(version of the database's schema, latest version this ragd knows)``."""
        with self._db.connection() as conn:
            return self._schema.schema_version(conn), len(self._schema.MIGRATIONS)

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        # every port over this database shares the process's pool for it, and a thread inside a write transaction
        # gets the same connection back from any port: their statements join this transaction
        with self._db.write():
            yield

    def close(self) -> None:
        for port in reversed(self._ports):
            port.close()
        self._ports.clear()
        self._db.close()
