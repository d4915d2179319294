"""Alert rules: `promtool check rules`, `promtool test rules`, and the scrape configuration."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from tests.support import REPO

from ragd.jobs.metrics import METRIC_NAMES as WORKER_METRIC_NAMES
from ragd.observability.metrics import BROKER_METRIC_NAMES, LATENCY_BUCKETS, METRIC_NAMES

PROM = REPO / "deploy" / "prometheus"


def promtool(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool is missing: apt-get install prometheus (.ci/run does it)"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_rules_are_valid() -> None:
    res = promtool("check", "rules", "alerts.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 18 rules found" in res.stdout


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
    assert set(rules) == {"RagdApiDown", "RagdSlowQuestions", "RagdHighQueryLatency", "RagdHighErrorRate",
                          "RagdHighCpu", "RagdDbPoolNearLimit", "RagdTokenBudgetNearlySpent",
                          "RagdTokenBudgetExceeded", "RagdHighMemory", "RagdLowDisk", "RagdIngestQueueStuck",
                          "RagdIngestBacklogGrowing", "RagdWorkerTaskFailures", "RagdNoWorkerConsuming",
                          "RagdBrokerUnreachable", "RagdTlsCertificateExpiringSoon",
                          "RagdTlsCertificateExpiresVerySoon", "RagdTlsProbeFailed"}
    assert "> 2" in rules["RagdSlowQuestions"]["expr"] and rules["RagdSlowQuestions"]["labels"]["severity"] == "warning"
    assert "> 10" in rules["RagdHighQueryLatency"]["expr"] and rules["RagdHighQueryLatency"]["for"] == "5m"
    assert rules["RagdHighQueryLatency"]["labels"]["severity"] == "critical"
    assert "> 0.8" in rules["RagdHighCpu"]["expr"] and ">= 0.9" in rules["RagdDbPoolNearLimit"]["expr"]
    assert "ragd_token_budget_per_day > 0" in rules["RagdTokenBudgetExceeded"]["expr"]  # 0: no budget, no alert
    assert "> 0.05" in rules["RagdHighErrorRate"]["expr"]
    assert "> 0.85" in rules["RagdHighMemory"]["expr"] and "< 0.15" in rules["RagdLowDisk"]["expr"]
    backlog = rules["RagdIngestBacklogGrowing"]["expr"]
    assert "offset 15m" in backlog and "> 600" in backlog  # growing for 15 minutes, oldest over 10 minutes
    assert "[10m]" in rules["RagdNoWorkerConsuming"]["expr"]
    for rule in rules.values():
        assert rule["labels"]["severity"] in {"warning", "critical"}  # what deploy/alertmanager routes on
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    exported = {n.removesuffix("_total") for n in (*METRIC_NAMES, *BROKER_METRIC_NAMES, *WORKER_METRIC_NAMES)}
    for rule in rules.values():
        for name in re.findall(r"\bragd?_[a-z_]+", rule["expr"]):
            assert re.sub(r"_(total|bucket|count|sum)$", "", name) in exported, name


def test_latency_thresholds_are_bucket_boundaries() -> None:
    """histogram_quantile interpolates inside a bucket: with 1 s and 2.5 s as neighbours, questions of 1.1 s would
    read as a p95 of 2.4 s. A boundary at each threshold makes "p95 > threshold" exact."""
    assert {2.0, 10.0} <= set(LATENCY_BUCKETS)
