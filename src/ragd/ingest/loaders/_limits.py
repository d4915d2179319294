"""The limits a loader applies to one file, set by :func:`ragd.ingest.loaders.load_document` for the call (from
``office.*`` settings) so the loaders keep their ``(data, filename)`` signature."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoaderLimits:
    max_sheet_cells: int = 200_000
    max_xml_depth: int = 100


_DEFAULT = LoaderLimits()
_CURRENT: ContextVar[LoaderLimits | None] = ContextVar("ragd_loader_limits", default=None)


def current_limits() -> LoaderLimits:
    return _CURRENT.get() or _DEFAULT


@contextlib.contextmanager
def using_limits(limits: LoaderLimits | None) -> Iterator[None]:
    if limits is None:
        yield
        return
    token = _CURRENT.set(limits)
    try:
        yield
    finally:
        _CURRENT.reset(token)
