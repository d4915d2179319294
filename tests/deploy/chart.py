"""The Helm chart rendered by Helm's own engine (helm-python-sdk, no helm binary), one manifest per kind."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import yaml
from tests.support import REPO

CHART = REPO / "deploy" / "helm" / "ragd"
K8S = "1.30.0"


def render_files(values: dict[str, Any] | None = None) -> dict[str, str]:
    with helm.Chart.load(str(CHART)) as chart:
        return dict(chart.render(values=values or {}, name="demo", namespace="ops"))


def render_all(values: dict[str, Any] | None = None) -> list[dict]:
    """Every manifest the chart renders."""
    return [doc for name, text in render_files(values).items() if name.endswith(".yaml")
            for doc in yaml.safe_load_all(text) if doc]


def _by_kind(docs: list[dict], component: str | None) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for doc in docs:
        if doc["metadata"]["labels"].get("app.kubernetes.io/component") == component:
            assert doc["kind"] not in out, f"two {doc['kind']} manifests"
            out[doc["kind"]] = doc
    return out


def render(values: dict[str, Any] | None = None) -> dict[str, dict]:
    """The API's manifests (and those it shares with the workers: ConfigMap, Secret), one per kind."""
    return _by_kind(render_all(values), None)


def render_workers(values: dict[str, Any] | None = None) -> dict[str, dict]:
    """The worker manifests of broker mode (Deployment, HorizontalPodAutoscaler, PodMonitor…), one per kind."""
    return _by_kind(render_all(values), "worker")


def render_backup(values: dict[str, Any] | None = None) -> dict[str, dict]:
    """The backup job's manifests (CronJob, its PersistentVolumeClaim, NetworkPolicy), one per kind."""
    return _by_kind(render_all(values), "backup")
