"""The API's HorizontalPodAutoscaler and PodDisruptionBudget: PostgreSQL mode only, the autoscaler owning the
replica count; refused with a message in SQLite mode. Rendered by Helm's engine, validated against the schemas."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from tests.deploy.chart import K8S, render, render_files
from tests.deploy.modes import BROKER, POSTGRES

AUTOSCALED: dict[str, Any] = {**POSTGRES, "autoscaling": {"enabled": True}}


def valid(docs: dict[str, dict]) -> dict[str, dict]:
    for doc in docs.values():
        kubernetes_validate.validate(doc, K8S, strict=True)
    return docs


def test_no_autoscaler_by_default_in_either_mode() -> None:
    for values in ({}, POSTGRES):
        assert "HorizontalPodAutoscaler" not in render(values)
    assert "PodDisruptionBudget" not in render() and "PodDisruptionBudget" in render(POSTGRES)


def test_postgresql_mode_autoscales_the_api_on_cpu_and_leaves_it_the_replica_count() -> None:
    docs = valid(render(AUTOSCALED))
    deployment = docs["Deployment"]
    assert "replicas" not in deployment["spec"]  # the autoscaler sets it: a `helm upgrade` never resets it
    hpa = docs["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": deployment["metadata"]["name"]}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    # utilisation is measured against the request: the API container has one
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    # the disruption budget stays, on the same pods
    pdb = docs["PodDisruptionBudget"]["spec"]
    assert pdb["minAvailable"] == 1
    assert pdb["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert "2 to 6 replicas, autoscaled" in render_files(AUTOSCALED)["ragd/templates/NOTES.txt"]


def test_autoscaling_settings_reach_the_autoscaler() -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 600}}
    docs = valid(render({**POSTGRES, "autoscaling": {
        "enabled": True, "minReplicas": 3, "maxReplicas": 12, "targetCPUUtilizationPercentage": 60,
        "targetMemoryUtilizationPercentage": 80, "behavior": behavior}}))
    spec = docs["HorizontalPodAutoscaler"]["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 12)
    assert [(m["resource"]["name"], m["resource"]["target"]["averageUtilization"]) for m in spec["metrics"]] == [
        ("cpu", 60), ("memory", 80)]
    assert spec["behavior"] == behavior


def test_the_api_and_worker_autoscalers_are_apart() -> None:
    from tests.deploy.chart import render_workers

    values = {**BROKER, "autoscaling": {"enabled": True}, "workers": {"autoscaling": {"enabled": True}}}
    api, workers = render(values), render_workers(values)
    assert api["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == api["Deployment"]["metadata"]["name"]
    assert workers["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == workers["Deployment"][
        "metadata"]["name"]
    assert api["HorizontalPodAutoscaler"]["metadata"]["name"] != workers["HorizontalPodAutoscaler"]["metadata"]["name"]


@pytest.mark.parametrize(("values", "message"), [
    ({"autoscaling": {"enabled": True}}, "autoscaling.enabled needs PostgreSQL mode"),
    ({**POSTGRES, "autoscaling": {"enabled": True, "minReplicas": 1}}, "2 <= minReplicas <= maxReplicas"),
    ({**POSTGRES, "autoscaling": {"enabled": True, "minReplicas": 8, "maxReplicas": 4}}, "minReplicas <= maxReplicas"),
    ({**POSTGRES, "autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": None}},
     "targetCPUUtilizationPercentage and/or targetMemoryUtilizationPercentage"),
])
def test_autoscaling_refuses_what_cannot_work(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render(values)
