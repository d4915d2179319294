"""The Helm chart, rendered by Helm's engine (helm-python-sdk), validated against Kubernetes schemas."""

from __future__ import annotations

import helm_python as helm
import kubernetes_validate
import pytest
from tests.deploy.chart import CHART, K8S, render


def test_lint_has_no_errors() -> None:
    report = helm.lint(str(CHART), strict=True)
    assert report["errors"] == [] and all(m["severity"] <= 1 for m in report["messages"]), report


def test_default_render_is_valid_kubernetes() -> None:
    docs = render()
    assert set(docs) == {"ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "Deployment", "ServiceAccount"}
    for doc in docs.values():
        kubernetes_validate.validate(doc, K8S, strict=True)
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/ready"
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    assert pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert docs["ConfigMap"]["data"]["RAGD_DATA_DIR"] == "/data"
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == docs["PersistentVolumeClaim"]["metadata"][
        "name"]


def test_everything_enabled_is_valid() -> None:
    docs = render({"ingress": {"enabled": True, "className": "nginx", "tls": [{"secretName": "t", "hosts": ["a"]}]},
                   "serviceMonitor": {"enabled": True, "bearerTokenSecret": {"name": "demo-ragd",
                                                                              "key": "RAGD_METRICS__TOKEN"}},
                   "secrets": {"RAGD_METRICS__TOKEN": "s3cret"}})
    assert {"Ingress", "ServiceMonitor"} <= docs.keys()
    for kind, doc in docs.items():
        if kind != "ServiceMonitor":  # a CRD: not in the core schemas, checked by hand below
            kubernetes_validate.validate(doc, K8S, strict=True)
    sm = docs["ServiceMonitor"]
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["spec"]["selector"]["matchLabels"].items() <= docs["Service"]["metadata"]["labels"].items()
    endpoint = sm["spec"]["endpoints"][0]
    assert endpoint["path"] == "/metrics" and endpoint["port"] == docs["Service"]["spec"]["ports"][0]["name"]
    assert docs["Secret"]["stringData"]["RAGD_METRICS__TOKEN"] == "s3cret"


def test_the_validator_rejects_a_broken_manifest() -> None:
    doc = render()["Deployment"]
    doc["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S, strict=True)
