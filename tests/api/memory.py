"""Shared by the memory tests of the HTTP edge (test_limits, test_uploads): the server's memory figures."""

from __future__ import annotations

from pathlib import Path

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
