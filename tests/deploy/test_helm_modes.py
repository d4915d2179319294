"""The chart's two store modes: embedded SQLite (one replica, Recreate, a PVC) and PostgreSQL (stateless replicas,
RollingUpdate, a PodDisruptionBudget), rendered by Helm's engine and validated against Kubernetes schemas."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from tests.deploy.chart import CHART, K8S, render, render_files

SHARED = {"RAGD_AUTH__JWT_SECRET": "0123456789abcdef" * 4, "RAGD_AUDIT__SIGNING_KEY": "seed-of-the-audit-key"}
POSTGRES = {"store": {"url": "postgresql://ragd:pw@db.example:5432/ragd"}, "secrets": SHARED}
EXAMPLE: dict[str, Any] = yaml.safe_load((CHART / "values-postgresql.yaml").read_text())


def valid(docs: dict[str, dict]) -> dict[str, dict]:
    for doc in docs.values():
        kubernetes_validate.validate(doc, K8S, strict=True)
    return docs


def pod(docs: dict[str, dict]) -> dict[str, Any]:
    return docs["Deployment"]["spec"]["template"]["spec"]


def data_volume(docs: dict[str, dict]) -> dict[str, Any]:
    return next(v for v in pod(docs)["volumes"] if v["name"] == "data")


def probes(docs: dict[str, dict]) -> tuple[str, str]:
    container = pod(docs)["containers"][0]
    return container["readinessProbe"]["httpGet"]["path"], container["livenessProbe"]["httpGet"]["path"]


def test_sqlite_mode_is_one_replica_recreate_on_a_volume() -> None:
    docs = valid(render())
    deployment = docs["Deployment"]["spec"]
    assert deployment["replicas"] == 1 and deployment["strategy"] == {"type": "Recreate"}
    assert "PodDisruptionBudget" not in docs
    assert data_volume(docs)["persistentVolumeClaim"]["claimName"] == docs["PersistentVolumeClaim"]["metadata"][
        "name"]
    assert "RAGD_STORE__URL" not in (docs["Secret"].get("stringData") or {})
    assert probes(docs) == ("/api/v1/ready", "/api/v1/health")


@pytest.mark.parametrize("replicas", [2, 3])
def test_sqlite_mode_refuses_more_than_one_replica(replicas: int) -> None:
    with pytest.raises(helm.HelmError, match="replicaCount > 1 needs PostgreSQL"):
        render({"replicaCount": replicas})


def test_postgresql_mode_is_stateless_replicas_rolling_with_a_disruption_budget() -> None:
    docs = valid(render(POSTGRES))
    deployment = docs["Deployment"]["spec"]
    assert deployment["replicas"] == 2  # the default in this mode
    assert deployment["strategy"] == {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    pdb = docs["PodDisruptionBudget"]["spec"]
    assert pdb["minAvailable"] == 1
    assert pdb["selector"]["matchLabels"] == deployment["selector"]["matchLabels"]
    assert data_volume(docs) == {"name": "data", "emptyDir": {}}
    assert "PersistentVolumeClaim" not in docs
    assert probes(docs) == ("/api/v1/ready", "/api/v1/health")
    # one Secret for every replica: the store URL and the keys they must share
    secret = docs["Secret"]["stringData"]
    assert secret["RAGD_STORE__URL"] == POSTGRES["store"]["url"]
    assert SHARED.items() <= secret.items()
    assert {"secretRef": {"name": docs["Secret"]["metadata"]["name"]}} in pod(docs)["containers"][0]["envFrom"]
    # replicas prefer different nodes
    spread = pod(docs)["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert spread["podAffinityTerm"]["labelSelector"]["matchLabels"] == deployment["selector"]["matchLabels"]


def test_postgresql_mode_scales_out() -> None:
    assert valid(render({**POSTGRES, "replicaCount": 5}))["Deployment"]["spec"]["replicas"] == 5


def test_the_example_values_file_renders_postgresql_mode_from_existing_secrets() -> None:
    docs = valid(render(EXAMPLE))
    assert docs["Deployment"]["spec"]["replicas"] >= 2
    assert docs["Deployment"]["spec"]["strategy"]["type"] == "RollingUpdate"
    assert "PodDisruptionBudget" in docs and "PersistentVolumeClaim" not in docs
    assert "Secret" not in docs  # the operator's Secret (ragd-secrets), named in the example
    container = pod(docs)["containers"][0]
    assert container["env"] == [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": "ragd-secrets", "key": name}}}
        for name in ("RAGD_STORE__URL", "RAGD_JOBS__BROKER_URL")]  # the example runs broker mode (workers on)
    assert {"secretRef": {"name": "ragd-secrets"}} in container["envFrom"]
    assert docs["ConfigMap"]["data"]["RAGD_RATELIMIT__URL"].startswith("redis://")
    report = helm.lint(str(CHART), EXAMPLE, strict=True)
    assert report["errors"] == [] and all(m["severity"] <= 1 for m in report["messages"]), report


def test_notes_tell_the_mode_and_how_to_back_up() -> None:
    assert "pg_dump" in render_files(POSTGRES)["ragd/templates/NOTES.txt"]
    assert "ragd backup" in render_files()["ragd/templates/NOTES.txt"]


@pytest.mark.parametrize(("values", "message"), [
    ({**POSTGRES, "replicaCount": 1}, "2 or more replicas"),
    ({**POSTGRES, "secrets": {"RAGD_AUDIT__SIGNING_KEY": "k"}}, "secrets.RAGD_AUTH__JWT_SECRET"),
    ({**POSTGRES, "secrets": {"RAGD_AUTH__JWT_SECRET": "j" * 40}}, "secrets.RAGD_AUDIT__SIGNING_KEY"),
    ({**POSTGRES, "existingSecret": "mine"}, "store.existingSecret"),
    ({"store": {"url": "sqlite:////data/ragd.sqlite3"}, "replicaCount": 2}, "must be a postgresql:// URL"),
])
def test_postgresql_mode_refuses_what_would_split_the_replicas(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render(values)
