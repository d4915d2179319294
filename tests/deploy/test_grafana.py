"""Grafana dashboards: generated, valid, and querying only metrics ragd exports."""

from __future__ import annotations

import importlib.util
import json
import re

import yaml
from tests.support import REPO

from ragd.jobs.metrics import METRIC_NAMES as WORKER_METRIC_NAMES
from ragd.observability.metrics import BROKER_METRIC_NAMES, METRIC_NAMES

GRAFANA = REPO / "deploy" / "grafana"
STANDARD = {"up", "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"}


def _builder():
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_dashboards_match_the_generator() -> None:
    rendered = _builder().render()
    assert set(rendered) == {"overview.json", "performance.json", "quality.json", "resources.json", "ingestion.json"}
    for name, text in rendered.items():
        assert (GRAFANA / "dashboards" / name).read_text() == text, "run python deploy/grafana/build_dashboards.py"


def test_dashboards_use_exported_metrics() -> None:
    exported = {n.removesuffix("_total") for n in (*METRIC_NAMES, *BROKER_METRIC_NAMES, *WORKER_METRIC_NAMES)}
    used: set[str] = set()
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        assert board["uid"].startswith("ragd-") and board["title"].startswith("ragd / ") and board["panels"]
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            assert panel["targets"] and {"x", "y", "w", "h"} <= panel["gridPos"].keys()
            for target in panel["targets"]:
                assert target["expr"].count("(") == target["expr"].count(")")
                for name in re.findall(r"\b(?:rag|process|up)[a-z_]*", target["expr"]):
                    base = re.sub(r"_(total|bucket|count|sum)$", "", name)
                    assert base in exported or name in STANDARD, (path.name, name)
                    used.add(base)
    assert {"rag_total_latency_seconds", "rag_queries", "rag_feedback", "rag_index_size",
            "rag_disk_free_ratio", "ragd_jobs", "ragd_jobs_oldest_queued_seconds", "ragd_broker_messages",
            "ragd_task_seconds", "ragd_task_failures", "ragd_cpu_seconds", "ragd_cpu_limit_cores",
            "ragd_db_pool_connections", "ragd_db_pool_max", "ragd_token_budget_per_day"} <= used


def test_provisioning_points_at_the_dashboards() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    assert ds["datasources"][0]["type"] == "prometheus"
    boards = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "ragd.yaml").read_text())
    assert boards["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/ragd"
