"""Storage: the ports (:mod:`ragd.store.base`, :mod:`ragd.store.conversations`, :mod:`ragd.auth.identities`,
:mod:`ragd.audit.base`) and the engines behind them.

There is one way to get them: :func:`ragd.store.backend.open_backend` picks the engine by the URL's scheme
(a plain filesystem path means SQLite) and hands out every port over that one database.
"""

from __future__ import annotations

from ragd.store.base import Store
from ragd.store.url import scheme_of

__all__ = ["Store", "scheme_of"]
