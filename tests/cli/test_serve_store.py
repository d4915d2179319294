"""`ragd serve` with a PostgreSQL store that does not answer: one clear line naming the URL (password masked) and
exit code 1, before any server starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import free_port

from ragd.audit.signing import generate_seed_b64

SIGNING_KEY = generate_seed_b64()


def test_serve_with_unreachable_postgresql_says_so_and_exits(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://ragd:hunter2-secret@127.0.0.1:{port}/ragd"
    env = {**os.environ, "RAGD_DATA_DIR": str(tmp_path / "data"), "RAGD_STORE__URL": url,
           "RAGD_AUTH__ENABLED": "false", "RAGD_AUDIT__SIGNING_KEY": SIGNING_KEY}
    proc = subprocess.run([sys.executable, "-m", "ragd.cli.main", "serve", "--port", str(free_port())],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "[store_unavailable]" in proc.stderr
    assert f"postgresql://ragd:***@127.0.0.1:{port}/ragd" in proc.stderr
    assert "hunter2-secret" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_serve_on_postgresql_requires_the_keys_replicas_share(tmp_path: Path, pg_url: str) -> None:
    env = {**os.environ, "RAGD_DATA_DIR": str(tmp_path / "data"), "RAGD_STORE__URL": pg_url,
           "RAGD_AUTH__ENABLED": "true"}
    env.pop("RAGD_AUDIT__SIGNING_KEY", None)
    env.pop("RAGD_AUTH__JWT_SECRET", None)
    proc = subprocess.run([sys.executable, "-m", "ragd.cli.main", "serve", "--port", str(free_port())],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "[configuration_error]" in proc.stderr
    assert "RAGD_AUDIT__SIGNING_KEY" in proc.stderr and "RAGD_AUTH__JWT_SECRET" in proc.stderr
