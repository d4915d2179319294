"""CPU figures from the cgroup files (v2 and v1 layouts written into a directory), and without any."""

from __future__ import annotations

import os
from pathlib import Path

from ragd.observability.resources import cpu_limit_cores, cpu_seconds


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_cgroup_v2_usage_and_quota(tmp_path: Path) -> None:
    root = _write(tmp_path, {"cpu.stat": "usage_usec 12500000\nuser_usec 10000000\nsystem_usec 2500000\n",
                             "cpu.max": "150000 100000\n"})
    assert cpu_seconds(root) == 12.5
    assert cpu_limit_cores(root) == 1.5


def test_cgroup_v2_without_a_quota_counts_the_cpus_this_process_may_use(tmp_path: Path) -> None:
    root = _write(tmp_path, {"cpu.stat": "usage_usec 1\n", "cpu.max": "max 100000\n"})
    assert cpu_limit_cores(root) == len(os.sched_getaffinity(0))


def test_cgroup_v1_usage_and_quota(tmp_path: Path) -> None:
    root = _write(tmp_path, {"cpuacct/cpuacct.usage": "3000000000\n", "cpu/cpu.cfs_quota_us": "200000\n",
                             "cpu/cpu.cfs_period_us": "100000\n"})
    assert cpu_seconds(root) == 3.0
    assert cpu_limit_cores(root) == 2.0
    _write(tmp_path, {"cpu/cpu.cfs_quota_us": "-1\n"})  # no quota
    assert cpu_limit_cores(root) == len(os.sched_getaffinity(0))


def test_without_cgroup_accounting_this_process_s_cpu_time(tmp_path: Path) -> None:
    times = os.times()
    assert cpu_seconds(tmp_path) >= times.user + times.system > 0
    assert cpu_limit_cores(tmp_path) == len(os.sched_getaffinity(0))
