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


def render(values: dict[str, Any] | None = None) -> dict[str, dict]:
    out = {}
    for name, text in render_files(values).items():
        if name.endswith(".yaml"):
            for doc in yaml.safe_load_all(text):
                if doc:
                    out[doc["kind"]] = doc
    return out
