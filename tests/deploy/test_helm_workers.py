"""The chart's broker mode: `ragd worker` pods beside the API replicas, an optional HorizontalPodAutoscaler on the
broker's queue depth and a PodMonitor, rendered by Helm's engine and validated against Kubernetes schemas."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from tests.deploy.chart import CHART, K8S, render, render_all, render_files, render_workers

SHARED = {"RAGD_AUTH__JWT_SECRET": "0123456789abcdef" * 4, "RAGD_AUDIT__SIGNING_KEY": "seed-of-the-audit-key"}
POSTGRES: dict[str, Any] = {"store": {"url": "postgresql://ragd:pw@db.example:5432/ragd"}, "secrets": SHARED}
BROKER_URL = "amqp://ragd:pw@rabbitmq.mq.svc:5672/ragd"
BROKER: dict[str, Any] = {**POSTGRES, "broker": {"url": BROKER_URL}}
EXAMPLE: dict[str, Any] = yaml.safe_load((CHART / "values-postgresql.yaml").read_text())


def valid(docs: dict[str, dict]) -> dict[str, dict]:
    for kind, doc in docs.items():
        if kind != "PodMonitor":  # a CRD: not in the core schemas, checked by hand
            kubernetes_validate.validate(doc, K8S, strict=True)
    return docs


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def worker_args(docs: dict[str, dict]) -> dict[str, str]:
    args = pod(docs["Deployment"])["containers"][0]["args"]
    assert args[0] == "worker"
    return dict(zip(args[1::2], args[2::2], strict=True))


@pytest.mark.parametrize("values", [{}, POSTGRES, {**BROKER, "workers": {"enabled": False}}],
                         ids=["sqlite", "postgresql", "broker-without-workers"])
def test_no_worker_without_a_broker_or_when_disabled(values: dict[str, Any]) -> None:
    assert render_workers(values) == {}


def test_broker_mode_renders_a_valid_worker_deployment() -> None:
    api, workers = valid(render(BROKER)), valid(render_workers(BROKER))
    assert set(workers) == {"Deployment"}
    spec = workers["Deployment"]["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert worker_args(workers) == {"--concurrency": "2", "--queues": "interactive,bulk", "--pool": "threads",
                                    "--metrics-port": "9100"}
    worker, replica = pod(workers["Deployment"]), pod(api["Deployment"])
    # the same image, settings and Secret as the API replicas: the broker URL and the store URL in it
    assert worker["containers"][0]["image"] == replica["containers"][0]["image"]
    assert worker["containers"][0]["envFrom"] == replica["containers"][0]["envFrom"]
    secret = api["Secret"]["stringData"]
    assert secret["RAGD_JOBS__BROKER_URL"] == BROKER_URL and secret["RAGD_STORE__URL"]
    # the API pods' security, their own resources, time for a warm shutdown
    assert worker["securityContext"] == replica["securityContext"]
    assert worker["containers"][0]["securityContext"] == replica["containers"][0]["securityContext"]
    assert worker["containers"][0]["resources"]["requests"]["cpu"] == "2"
    assert worker["containers"][0]["resources"] != replica["containers"][0]["resources"]
    assert worker["terminationGracePeriodSeconds"] >= 60
    assert {v["name"]: v for v in worker["volumes"]}["data"] == {"name": "data", "emptyDir": {}}


def test_worker_pods_are_never_selected_as_api_replicas() -> None:
    api, workers = render(BROKER), render_workers(BROKER)
    labels = workers["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for selector in (api["Service"]["spec"]["selector"], api["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
                     api["Deployment"]["spec"]["selector"]["matchLabels"]):
        assert not selector.items() <= labels.items(), selector
    assert workers["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_worker_metrics_port_is_named_and_annotated_for_prometheus() -> None:
    workers = render_workers(BROKER)
    template = workers["Deployment"]["spec"]["template"]
    (port,) = template["spec"]["containers"][0]["ports"]
    assert port == {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "9100"
    assert annotations["prometheus.io/path"] == "/metrics"


def test_worker_settings_reach_the_command_line() -> None:
    workers = valid(render_workers({**BROKER, "workers": {"replicas": 5, "concurrency": 8, "queues": ["bulk"],
                                                          "metricsPort": 9300}}))
    assert workers["Deployment"]["spec"]["replicas"] == 5
    args = worker_args(workers)
    assert args["--concurrency"] == "8" and args["--queues"] == "bulk" and args["--metrics-port"] == "9300"


def test_autoscaling_on_queue_depth_is_a_valid_hpa_owning_the_replicas() -> None:
    values = {**BROKER, "workers": {"autoscaling": {
        "enabled": True, "minReplicas": 2, "maxReplicas": 12, "targetMessagesPerWorker": 50,
        "metric": {"name": "ragd_broker_messages", "selector": {"matchLabels": {"queue": "bulk"}}}}}}
    workers = valid(render_workers(values))
    assert "replicas" not in workers["Deployment"]["spec"]  # the autoscaler sets it
    hpa = workers["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": workers["Deployment"]["metadata"]["name"]}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 12)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"] == {"name": "ragd_broker_messages",
                                            "selector": {"matchLabels": {"queue": "bulk"}}}
    assert metric["external"]["target"] == {"type": "AverageValue", "averageValue": "50"}
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_a_pod_monitor_scrapes_the_workers_with_the_service_monitor() -> None:
    workers = valid(render_workers({**BROKER, "serviceMonitor": {"enabled": True}}))
    monitor = workers["PodMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    labels = workers["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]


def test_the_example_values_file_runs_workers_from_the_operator_s_secret() -> None:
    api, workers = valid(render(EXAMPLE)), valid(render_workers(EXAMPLE))
    assert "Secret" not in api and set(workers) == {"Deployment"}
    container = pod(workers["Deployment"])["containers"][0]
    assert {"secretRef": {"name": "ragd-secrets"}} in container["envFrom"]
    assert {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]} == {
        name: {"name": "ragd-secrets", "key": name} for name in ("RAGD_STORE__URL", "RAGD_JOBS__BROKER_URL")}
    assert "ragd worker" in render_files(EXAMPLE)["ragd/templates/NOTES.txt"]


def test_everything_enabled_with_workers_lints_and_validates() -> None:
    values = {**BROKER, "serviceMonitor": {"enabled": True}, "workers": {"autoscaling": {"enabled": True}},
              "ingress": {"enabled": True}}
    report = helm.lint(str(CHART), values, strict=True)
    assert report["errors"] == [] and all(m["severity"] <= 1 for m in report["messages"]), report
    kinds = [doc["kind"] for doc in render_all(values)]
    assert kinds.count("Deployment") == 2 and "HorizontalPodAutoscaler" in kinds


def test_broker_without_workers_says_where_ingestion_must_run() -> None:
    notes = render_files({**BROKER, "workers": {"enabled": False}})["ragd/templates/NOTES.txt"]
    assert "workers.enabled=false" in notes and "ragd worker" in notes


@pytest.mark.parametrize(("values", "message"), [
    ({"broker": {"url": BROKER_URL}}, "needs PostgreSQL"),
    ({**POSTGRES, "broker": {"url": "http://mq:5672"}}, "must be an amqp://"),
    ({**BROKER, "existingSecret": "mine", "store": {"existingSecret": {"name": "mine"}}}, "broker.existingSecret"),
    ({**BROKER, "workers": {"queues": []}}, "workers.queues"),
    ({**BROKER, "workers": {"queues": ["urgent"]}}, "unknown queue"),
    ({**BROKER, "workers": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}},
     "minReplicas <= maxReplicas"),
])
def test_broker_mode_refuses_what_cannot_work(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render_all(values)
