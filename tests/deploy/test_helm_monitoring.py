"""The chart's PrometheusRule and Grafana dashboard ConfigMaps, rendered from the same files as deploy/ (symbolic
links in the chart's files/, which Helm follows): what Kubernetes gets is what promtool and the Grafana tests check."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml
from tests.deploy.chart import CHART, K8S, render_all
from tests.support import REPO

PROM = REPO / "deploy" / "prometheus"
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
ALL_ON = {"prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
          "grafanaDashboards": {"enabled": True}}


def _kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _groups(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text())["groups"]


def test_the_chart_links_to_deploy_s_files_instead_of_copying_them() -> None:
    for name, target in (("alerts.yml", PROM / "alerts.yml"), ("compat_rules.yml", PROM / "compat_rules.yml"),
                         ("dashboards", DASHBOARDS)):
        link = CHART / "files" / name
        assert link.is_symlink() and not Path(link.readlink()).is_absolute(), name  # relative: a clone anywhere
        assert link.resolve() == target.resolve(), name


def test_nothing_of_it_by_default() -> None:
    docs = render_all()
    assert not _kind(docs, "PrometheusRule")
    assert [d["metadata"]["name"] for d in _kind(docs, "ConfigMap")] == ["demo-ragd"]  # the settings only


def test_prometheus_rule_holds_exactly_deploy_s_alert_rules(tmp_path: Path) -> None:
    (rule,) = _kind(render_all(ALL_ON), "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["metadata"]["name"] == "demo-ragd"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"  # the Operator's ruleSelector
    assert rule["metadata"]["labels"]["app.kubernetes.io/instance"] == "demo"
    assert rule["spec"]["groups"] == _groups(PROM / "alerts.yml")
    # and Prometheus accepts them as rendered (templates in annotations left for Prometheus, not eaten by Helm)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rule["spec"]))
    exe = shutil.which("promtool")
    assert exe, "promtool is missing: apt-get install prometheus (scripts/system-deps.sh does it)"
    res = subprocess.run([exe, "check", "rules", "rules.yml"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and "SUCCESS: 18 rules found" in res.stdout, res.stdout + res.stderr
    down = next(r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "RagdApiDown")
    assert down["annotations"]["summary"] == "ragd API down{{ with $labels.instance }} ({{ . }}){{ end }}"


def test_filagent_recording_rules_on_request() -> None:
    (rule,) = _kind(render_all({"prometheusRule": {"enabled": True, "filagentCompat": True}}), "PrometheusRule")
    assert rule["spec"]["groups"] == _groups(PROM / "alerts.yml") + _groups(PROM / "compat_rules.yml")
    assert "release" not in rule["metadata"]["labels"]


def test_the_rules_match_the_job_label_the_service_monitor_sets() -> None:
    docs = render_all({**ALL_ON, "serviceMonitor": {"enabled": True}})
    (monitor,) = _kind(docs, "ServiceMonitor")
    relabel = monitor["spec"]["endpoints"][0]["relabelings"]
    assert relabel == [{"targetLabel": "job", "replacement": "ragd"}]  # not the Service's name (demo-ragd)
    selectors = set(re.findall(r'job="([^"]+)"', (PROM / "alerts.yml").read_text()))
    assert selectors == {"ragd", "ragd-tls"}  # ragd-tls: the blackbox exporter's job, configured by the operator
    default_job = next(v for v in json.loads((DASHBOARDS / "overview.json").read_text())["templating"]["list"]
                       if v["name"] == "job")["current"]["value"]
    assert default_job == "ragd"


def test_one_dashboard_config_map_per_dashboard_for_the_grafana_sidecar() -> None:
    maps = [d for d in _kind(render_all(ALL_ON), "ConfigMap") if d["metadata"]["name"] != "demo-ragd"]
    files = sorted(DASHBOARDS.glob("*.json"))
    assert len(maps) == len(files) == 5
    by_key = {}
    for cm in maps:
        kubernetes_validate.validate(cm, K8S, strict=True)
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert "namespace" not in cm["metadata"]  # the release's
        (key,) = cm["data"]
        by_key[key] = cm
        assert cm["metadata"]["name"] == f"demo-ragd-dashboard-{key.removesuffix('.json')}"
    for path in files:
        assert by_key[path.name]["data"][path.name] == path.read_text().rstrip("\n")
        assert json.loads(by_key[path.name]["data"][path.name])["uid"].startswith("ragd-")


def test_dashboards_elsewhere_with_a_folder_and_a_long_release_name() -> None:
    values = {"grafanaDashboards": {"enabled": True, "namespace": "monitoring", "labels": {"dash": "yes"},
                                    "annotations": {"grafana_folder": "ragd"}}}
    with helm.Chart.load(str(CHART)) as chart:
        rendered = dict(chart.render(values=values, name="a-very-long-release-name-for-this-ragd-install",
                                     namespace="ops"))
    maps = [d for name, text in rendered.items() if name.endswith("dashboards.yaml")
            for d in yaml.safe_load_all(text) if d]
    assert len(maps) == 5
    for cm in maps:
        kubernetes_validate.validate(cm, K8S, strict=True)
        meta = cm["metadata"]
        assert meta["namespace"] == "monitoring" and meta["annotations"] == {"grafana_folder": "ragd"}
        assert meta["labels"]["dash"] == "yes" and meta["labels"]["grafana_dashboard"] == "1"  # values merge
        assert len(meta["name"]) <= 63 and meta["name"].endswith(tuple(p.stem for p in DASHBOARDS.glob("*.json")))
    assert len({cm["metadata"]["name"] for cm in maps}) == 5


def test_lint_with_everything_on() -> None:
    report = helm.lint(str(CHART), strict=True, values={**ALL_ON, "serviceMonitor": {"enabled": True}})
    assert report["errors"] == [] and all(m["severity"] <= 1 for m in report["messages"]), report


def test_a_packaged_chart_carries_the_files_themselves(tmp_path: Path) -> None:
    """`helm package` follows the links: the archive an operator installs holds the rules and dashboards as files,
    and renders the same PrometheusRule without the repository."""
    archive = Path(helm.package(str(CHART), destination=str(tmp_path / "dist")))
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        for name, source in (("ragd/files/alerts.yml", PROM / "alerts.yml"),
                             ("ragd/files/compat_rules.yml", PROM / "compat_rules.yml"),
                             *((f"ragd/files/dashboards/{p.name}", p) for p in DASHBOARDS.glob("*.json"))):
            assert members[name].isfile(), name
            extracted = tar.extractfile(members[name])
            assert extracted is not None and extracted.read() == source.read_bytes(), name
        tar.extractall(tmp_path / "unpacked", filter="data")
    with helm.Chart.load(str(tmp_path / "unpacked" / "ragd")) as chart:
        rendered = dict(chart.render(values=ALL_ON, name="demo", namespace="ops"))
    (rule,) = [d for name, text in rendered.items() if name.endswith(".yaml") for d in yaml.safe_load_all(text)
               if d and d["kind"] == "PrometheusRule"]
    assert rule["spec"]["groups"] == _groups(PROM / "alerts.yml")
