"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support import Server


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def make(data_dir: Path | None = None, **env: str) -> Server:
        s = Server(data_dir or tmp_path / "data", env)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
