"""Alert rules: `promtool check rules`, `promtool test rules`, and the scrape configuration."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from tests.support import REPO

from ragd.jobs.metrics import METRIC_NAMES as WORKER_METRIC_NAMES
from ragd.observability.compat_names import ALIAS_NAMES
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
    config = (PROM / "prometheus.yml").read_text()
    for rules in ("alerts.yml", "compat_rules.yml"):
        config = config.replace(f"/etc/prometheus/{rules}", rules)
        shutil.copy(PROM / rules, tmp_path / rules)
    (tmp_path / "prometheus.yml").write_text(config)
    res = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 18 rules found" in res.stdout
    assert yaml.safe_load(config)["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"]  # the monitoring profile's Alertmanager (deploy/compose.yaml)
    # the commented examples (the FilAgent rules, the blackbox exporter's job behind the RagdTls* alerts) are valid
    # once uncommented
    uncommented = re.sub(r"^(  )# (- compat_rules\.yml)$", r"\1\2", config, flags=re.M)
    uncommented = re.sub(r"^  # (  |- job_name: ragd-tls)", r"  \1", uncommented, flags=re.M)
    parsed = yaml.safe_load(uncommented)
    assert parsed["rule_files"] == ["alerts.yml", "compat_rules.yml"]
    tls = next(job for job in parsed["scrape_configs"] if job["job_name"] == "ragd-tls")
    assert tls["metrics_path"] == "/probe" and tls["params"] == {"module": ["http_2xx"]}
    (tmp_path / "prometheus.yml").write_text(uncommented)
    res = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 2 rule files found" in res.stdout and "SUCCESS: 11 rules found" in res.stdout


def test_filagent_recording_rules_are_valid_and_equal_ragd_s_series() -> None:
    res = promtool("check", "rules", "compat_rules.yml")
    assert res.returncode == 0 and "SUCCESS: 11 rules found" in res.stdout, res.stdout + res.stderr
    res = promtool("test", "rules", "compat_rules_test.yml")
    assert res.returncode == 0 and "SUCCESS" in res.stdout, res.stdout + res.stderr


def test_filagent_alert_rules_work_unchanged_over_ragd_s_series() -> None:
    res = promtool("test", "rules", "filagent_alerts_test.yml", cwd=REPO / "tests" / "deploy" / "prometheus")
    assert res.returncode == 0 and "SUCCESS" in res.stdout, res.stdout + res.stderr


def test_filagent_recording_rules_copy_one_series_each() -> None:
    """The names of the FilAgent deployments (those ragd's aliases export too), each recorded from one ragd series
    without aggregating across series, so counter resets pass through as they are."""
    rules = [r for g in yaml.safe_load((PROM / "compat_rules.yml").read_text())["groups"] for r in g["rules"]]
    recorded = {r["record"]: r["expr"].strip() for r in rules}
    assert {"filagent_requests_total", "filagent_request_duration_seconds_bucket", "filagent_tokens_used_total",
            "filagent_model_tokens_total", "filagent_tokens_total", "filagent_generation_duration_seconds_bucket",
            "filagent_errors_total"} <= set(recorded)
    exported = {n.removesuffix("_total") for n in METRIC_NAMES}
    for name, expr in recorded.items():
        sources = re.findall(r"\brag_[a-z_]+", expr)
        assert len(set(sources)) == 1, name
        assert re.sub(r"_(total|bucket|count|sum)$", "", sources[0]) in exported, name
        if name != "filagent_tokens_total":
            assert expr == sources[0], name  # a plain copy under the new name
    # the one relabelling (direction → token_type) keeps one source series per output series
    assert recorded["filagent_tokens_total"].startswith("sum without (direction) (")


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


def test_recording_rules_and_ragd_s_aliases_give_the_same_names() -> None:
    """The two ways to keep FilAgent's names (docs/operations.md#filagent-metric-names) offer the same names, so
    switching from one to the other breaks no rule or dashboard."""
    rules = [r for g in yaml.safe_load((PROM / "compat_rules.yml").read_text())["groups"] for r in g["rules"]]
    recorded = {re.sub(r"_(bucket|count|sum)$", "", r["record"]) for r in rules}
    assert recorded == set(ALIAS_NAMES)
