"""`ragd ingest` in broker mode: the files go to the bulk queue and `ragd worker` processes index them while the
command follows their progress; `--no-wait` only queues them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.backend import query, url_of
from tests.jobs.conftest import broker, worker_factory  # noqa: F401  (fixtures)
from tests.jobs.workers import Broker, WorkerProcess, settings_env


def ingest(data_dir: Path, broker: Broker, *args: str) -> subprocess.CompletedProcess[str]:  # noqa: F811
    return subprocess.run([sys.executable, "-m", "ragd.cli.main", "ingest", *args],
                          env=settings_env(data_dir, broker), capture_output=True, text=True, timeout=600)


def notes(folder: Path) -> Path:
    folder.mkdir()
    for i, topic in enumerate(("boilers", "warranties", "refunds")):
        (folder / f"{topic}.txt").write_text(f"Note {i}: how {topic} are handled by the north depot team.")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf\n%%EOF")
    return folder


def test_ingest_waits_for_the_workers(broker: Broker, worker_factory: Callable[..., WorkerProcess],  # noqa: F811
                                      tmp_path: Path) -> None:
    data = tmp_path / "data"
    worker = worker_factory(broker, data)
    res = ingest(data, broker, str(notes(tmp_path / "notes")))
    assert res.returncode == 1, res.stdout + res.stderr  # the corrupt PDF failed
    assert "4 files: 1 failed, 3 indexed" in res.stderr and "broken.pdf: failed at parsing" in res.stderr
    rows = query(url_of(data), "SELECT queue, status FROM jobs")
    assert sorted(rows) == [("bulk", "done")] * 4
    assert worker.metric("ragd_task_seconds_count", queue="bulk", outcome="done") >= 1


def test_ingest_no_wait_only_queues(broker: Broker, tmp_path: Path) -> None:  # noqa: F811
    data = tmp_path / "data"
    res = ingest(data, broker, "--no-wait", str(notes(tmp_path / "notes")))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "4 documents stored and queued" in res.stderr
    assert sorted(query(url_of(data), "SELECT queue, status FROM jobs")) == [("bulk", "queued")] * 4
    assert broker.ready_messages()["bulk"] == 4  # published after the commit
