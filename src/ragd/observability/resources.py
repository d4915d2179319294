"""Memory, CPU and disk figures shared by readiness checks and metrics (Linux; cgroup limits when set).

The cgroup files are read where a container sees its own cgroup: ``/sys/fs/cgroup`` (cgroup v2, in the cgroup
namespace Docker, containerd and Kubernetes give a container) or its ``cpu``/``cpuacct`` controllers (cgroup v1).
Outside a container these are the whole machine's, which is what the figures then describe."""

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


def cpu_seconds(cgroup_root: Path = Path("/sys/fs/cgroup")) -> float:
    """CPU time used by the cgroup ragd runs in (a container: all its processes, so every server worker process
    and a local model's threads count), in seconds; this process's own where no cgroup accounting is readable."""
    try:
        for line in (cgroup_root / "cpu.stat").read_text().splitlines():  # cgroup v2
            key, _, value = line.partition(" ")
            if key == "usage_usec" and value.strip().isdigit():
                return int(value) / 1e6
    except OSError:
        pass
    for controller in ("cpuacct", "cpu,cpuacct"):  # cgroup v1, nanoseconds
        ns = _read_int(cgroup_root / controller / "cpuacct.usage")
        if ns is not None:
            return ns / 1e9
    times = os.times()
    return times.user + times.system


def cpu_limit_cores(cgroup_root: Path = Path("/sys/fs/cgroup")) -> float:
    """The CPU cores ragd may use: the cgroup's quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` over its period)
    when one is set, else the CPUs this process may run on."""
    try:
        quota, _, period = (cgroup_root / "cpu.max").read_text().strip().partition(" ")
        if quota.isdigit() and period.isdigit() and int(period) > 0:
            return int(quota) / int(period)
    except OSError:
        pass
    for controller in ("cpu", "cpu,cpuacct"):
        v1_quota = _read_int(cgroup_root / controller / "cpu.cfs_quota_us")  # -1 (no quota) is not a digit string
        v1_period = _read_int(cgroup_root / controller / "cpu.cfs_period_us")
        if v1_quota and v1_period:
            return v1_quota / v1_period
    try:
        return float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return float(os.cpu_count() or 1)


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
