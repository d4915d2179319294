"""Fixtures of broker mode: a broker with queues of the test's own, ``ragd worker`` processes (tests/jobs/workers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.jobs.workers import Broker, WorkerProcess


@pytest.fixture
def broker() -> Iterator[Broker]:
    """The RabbitMQ at 127.0.0.1:5672, queues prefixed for this test (deleted afterwards)."""
    b = Broker("rabbitmq")
    yield b
    b.cleanup()


@pytest.fixture(params=["rabbitmq", "redis"])
def any_broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """RabbitMQ, then Redis (database 0 of 127.0.0.1:6379) as the broker."""
    b = Broker(request.param)
    yield b
    b.cleanup()


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """``worker_factory(broker, data_dir=None, **options)`` → a started :class:`WorkerProcess` (on the test's data
    directory, ``tmp_path / "data"``, unless given); every worker is stopped (SIGTERM) at the end of the test."""
    started: list[WorkerProcess] = []

    def make(broker: Broker, data_dir: Path | None = None, **options: object) -> WorkerProcess:
        w = WorkerProcess(data_dir or tmp_path / "data", broker, **options)  # type: ignore[arg-type]
        started.append(w)
        return w.start()

    yield make
    for w in started:
        if w.stop() not in (0, None):
            print(f"worker {w.hostname} exited with {w.proc.returncode if w.proc else None}:\n{w.log_tail()}")
