"""Fixtures of broker mode for the end-to-end tests: the ``broker`` and ``worker_factory`` of tests/jobs."""

from tests.jobs.conftest import broker, worker_factory

__all__ = ["broker", "worker_factory"]
