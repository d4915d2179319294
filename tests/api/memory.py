"""Shared by the memory tests of the HTTP edge (test_limits, test_uploads): the server's memory figures, and a
real `ragd serve` with authentication on and one administrator."""

from __future__ import annotations

from pathlib import Path

from tests.auth.conftest import PASSWORD, ragd_cli
from tests.support import Server

MIB = 1024 * 1024
RSS_GROWTH_BOUND = 100 * MIB


def vm(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of the process, in bytes: VmRSS (resident now) or VmHWM (the peak since reset_peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


def reset_peak(pid: int) -> int:
    """Reset the process's peak resident size (Linux: ``5`` into clear_refs); returns its resident size now."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return vm(pid)


def server_with_admin(data_dir: Path, email: str, **env: str) -> Server:
    """A started server (authentication on, no ingestion workers) whose administrator is ``email``."""
    s = Server(data_dir, {"RAGD_AUTH__ENABLED": "true", "RAGD_INGEST__WORKERS": "0", **env}).start()
    res = ragd_cli(s.data_dir, "users", "create-admin", "--email", email, "--password", PASSWORD)
    assert res.returncode == 0, res.stderr
    return s
