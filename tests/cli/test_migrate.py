"""`ragd migrate` (and `--check`) on the run's store: SQLite, or PostgreSQL with ``--store-backend postgresql``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.backend import store_env_for


def ragd(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **store_env_for(data_dir), "RAGD_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "ragd.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_check_reports_pending_then_migrate_applies_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pending = ragd(data, "migrate", "--check")
    assert pending.returncode == 1, pending.stdout + pending.stderr
    assert "pending" in pending.stdout
    done = ragd(data, "migrate")
    assert done.returncode == 0, done.stderr
    assert "migration(s) applied" in done.stdout
    again = ragd(data, "migrate", "--check")
    assert again.returncode == 0 and "up to date" in again.stdout
    assert ":***@" in again.stdout or "sqlite" in again.stdout  # a PostgreSQL URL is shown without its password
