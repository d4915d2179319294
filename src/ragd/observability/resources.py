"""Memory and disk figures shared by readiness checks and metrics (Linux; cgroup v2 limits when set)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class Usage:
    used: int
    total: int

    @property
    def ratio(self) -> float:
        return self.used / self.total if self.total > 0 else 0.0


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def memory_usage(cgroup_root: Path = Path("/sys/fs/cgroup")) -> Usage:
    """Memory in use against the container's limit if set (cgroup v2), else against the host's RAM."""
    limit = _read_int(cgroup_root / "memory.max")
    current = _read_int(cgroup_root / "memory.current")
    if limit and current is not None:
        return Usage(current, limit)
    info: dict[str, int] = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            info[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return Usage(0, 0)
    total = info.get("MemTotal", 0)
    return Usage(total - info.get("MemAvailable", total), total)


def disk_usage(path: Path) -> Usage:
    """Space used and total of the file system holding ``path`` (its nearest existing parent)."""
    probe = Path(path).resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    du = shutil.disk_usage(probe)
    return Usage(du.total - du.free, du.total)


def free_bytes(path: Path) -> int:
    u = disk_usage(path)
    return u.total - u.used


def directory_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total
