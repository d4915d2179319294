"""Alert rules: `promtool check rules`, `promtool test rules`, and the scrape configuration."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from tests.support import REPO

from ragd.jobs.metrics import METRIC_NAMES as WORKER_METRIC_NAMES
from ragd.observability.metrics import BROKER_METRIC_NAMES, METRIC_NAMES

PROM = REPO / "deploy" / "prometheus"


def promtool(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool is missing: apt-get install prometheus (.ci/run does it)"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_rules_are_valid() -> None:
    res = promtool("check", "rules", "alerts.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 10 rules found" in res.stdout


def test_rules_unit_tests_pass() -> None:
    res = promtool("test", "rules", "alerts_test.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_config_is_valid(tmp_path: Path) -> None:
    config = (PROM / "prometheus.yml").read_text().replace("/etc/prometheus/alerts.yml", "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(PROM / "alerts.yml", tmp_path / "alerts.yml")
    res = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


def test_rules_cover_the_issue_and_use_exported_metrics() -> None:
    rules = {r["alert"]: r for g in yaml.safe_load((PROM / "alerts.yml").read_text())["groups"] for r in g["rules"]}
    assert set(rules) == {"RagdApiDown", "RagdHighQueryLatency", "RagdHighErrorRate", "RagdHighMemory",
                          "RagdLowDisk", "RagdIngestQueueStuck", "RagdIngestBacklogGrowing", "RagdWorkerTaskFailures",
                          "RagdNoWorkerConsuming", "RagdBrokerUnreachable"}
    assert "> 10" in rules["RagdHighQueryLatency"]["expr"] and rules["RagdHighQueryLatency"]["for"] == "5m"
    assert "> 0.05" in rules["RagdHighErrorRate"]["expr"]
    assert "> 0.85" in rules["RagdHighMemory"]["expr"] and "< 0.15" in rules["RagdLowDisk"]["expr"]
    backlog = rules["RagdIngestBacklogGrowing"]["expr"]
    assert "offset 15m" in backlog and "> 600" in backlog  # growing for 15 minutes, oldest over 10 minutes
    assert "[10m]" in rules["RagdNoWorkerConsuming"]["expr"]
    exported = {n.removesuffix("_total") for n in (*METRIC_NAMES, *BROKER_METRIC_NAMES, *WORKER_METRIC_NAMES)}
    for rule in rules.values():
        for name in re.findall(r"\bragd?_[a-z_]+", rule["expr"]):
            assert re.sub(r"_(total|bucket|count|sum)$", "", name) in exported, name
