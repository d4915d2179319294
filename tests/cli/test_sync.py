"""`ragd sync DIR`: the summary, the exit code, --dry-run, and --watch following changes until Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.backend import query, store_env_for, url_of
from typer.testing import CliRunner

from ragd.cli.main import app


def env_for(data: Path) -> dict[str, str]:
    return {**os.environ, **store_env_for(data), "RAGD_DATA_DIR": str(data), "COLUMNS": "200"}


def ragd_sync(data: Path, *args: str):  # type: ignore[no-untyped-def]  (click's Result)
    """The command in this process (the --watch test runs it as a subprocess, to stop it with SIGINT)."""
    return CliRunner().invoke(app, ["sync", *args, "--data-dir", str(data)])


def share(root: Path) -> Path:
    root.mkdir()
    (root / "boilers.txt").write_text("The north depot repairs boilers on Mondays.")
    (root / "refunds.md").write_text("# Refunds\n\nRefunds are paid within ten days.")
    (root / "tool.bin").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(300))
    return root


def filenames(data: Path) -> list[str]:
    return sorted(r[0] for r in query(url_of(data), "SELECT filename FROM documents WHERE collection = 'mirror'"))


def test_sync_prints_a_summary_exits_1_on_a_failure_and_dry_run_changes_nothing(tmp_path: Path) -> None:
    data, root = tmp_path / "data", share(tmp_path / "share")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf\n%%EOF")
    first = ragd_sync(data, str(root), "--collection", "mirror")
    out = " ".join(first.output.split())
    assert first.exit_code == 1, out  # a file failed
    assert "2 added, 0 updated, 0 moved, 0 deleted, 0 unchanged, 1 skipped, 1 failed" in out
    assert "failed broken.pdf: failed at parsing" in out and "skipped tool.bin" in out
    assert filenames(data) == ["boilers.txt", "broken.pdf", "refunds.md"]

    (root / "boilers.txt").unlink()
    dry = ragd_sync(data, str(root), "--collection", "mirror", "--dry-run")
    out = " ".join(dry.output.split())
    assert dry.exit_code == 0, out
    assert "deleted boilers.txt" in out and "0 added, 0 updated, 0 moved, 1 deleted, 2 unchanged" in out
    assert filenames(data) == ["boilers.txt", "broken.pdf", "refunds.md"]


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _until(predicate, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.1)  # between two polls of the store


def test_watch_follows_changes_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    data, root = tmp_path / "data", share(tmp_path / "share")
    proc = subprocess.Popen([sys.executable, "-m", "ragd.cli.main", "sync", str(root), "--collection", "mirror",
                             "--watch", "--debounce-ms", "100"], env=env_for(data), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    try:
        lines = _lines(proc)
        seen: list[str] = []

        def watching() -> bool:
            while not lines.empty():
                seen.append(lines.get())
            assert proc.poll() is None, "".join(seen)
            return any("watching" in line for line in seen)

        _until(watching, "the first sync")
        assert filenames(data) == ["boilers.txt", "refunds.md"]
        (root / "new.txt").write_text("Warranty claims go to the south depot.")
        (root / "boilers.txt").unlink()
        _until(lambda: filenames(data) == ["new.txt", "refunds.md"], "the watcher's sync")
        status = query(url_of(data), "SELECT status FROM documents WHERE filename = 'new.txt'")
        _until(lambda: query(url_of(data), "SELECT status FROM documents WHERE filename = 'new.txt'")
               == [("indexed",)], f"new.txt indexed (was {status})")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
