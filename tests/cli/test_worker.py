"""`ragd worker`: refused without a broker or with bad options (exit code 2, one clear line); warm shutdown on
SIGTERM (exit code 0, the running task finishes)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.backend import query
from tests.jobs.conftest import broker, worker_factory  # noqa: F401  (fixtures)
from tests.jobs.test_dispatch import long_note
from tests.jobs.test_tasks import status, upload
from tests.jobs.workers import Broker, WorkerProcess, settings_env, wait_until
from tests.support import Server


def ragd(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = settings_env(data_dir, None, **env)
    full.pop("RAGD_JOBS__BROKER_URL", None)
    return subprocess.run([sys.executable, "-m", "ragd.cli.main", *args], env=full, capture_output=True, text=True,
                          timeout=120)


def test_without_a_broker_the_worker_refuses_to_start(tmp_path: Path) -> None:
    res = ragd(tmp_path / "data", "worker")
    assert res.returncode == 2
    assert "configuration_error" in res.stderr and "RAGD_JOBS__BROKER_URL" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("args", [["--queues", "urgent"], ["--queues", ","], ["--pool", "gevent"],
                                  ["--loglevel", "loud"], ["--concurrency", "0"]])
def test_bad_options_are_refused(tmp_path: Path, args: list[str]) -> None:
    res = ragd(tmp_path / "data", "worker", *args, RAGD_JOBS__BROKER_URL="amqp://guest:guest@127.0.0.1:5672//")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr


def test_sigterm_is_a_warm_shutdown(broker: Broker, worker_factory: Callable[..., WorkerProcess],  # noqa: F811
                                    server_factory: Callable[..., Server], tmp_path: Path) -> None:
    server = server_factory(tmp_path / "data", **broker.env()).start()
    worker = worker_factory(broker)
    with server.client() as http:
        doc_id = upload(http, "long.txt", long_note(0, 500))  # some seconds of the model
        wait_until(lambda: status(http, doc_id)["status"] != "pending", "the worker to start on it")
        assert worker.stop() == 0  # SIGTERM: the running task finishes first
        assert status(http, doc_id)["status"] == "indexed"
    assert "Warm shutdown" in worker.log_tail() and "stopped" in worker.log_tail()
    assert query(server.store_url, f"SELECT status, attempts FROM jobs WHERE document_id = '{doc_id}'") == [
        ("done", 1)]
