"""The chart's NetworkPolicies (off by default): the API port open only to the ingress controller and Prometheus,
the workers' metrics port only to Prometheus, the backup job closed; egress only to DNS and the configured
PostgreSQL, Redis, broker and LLM peers. Rendered by Helm's engine, validated against the Kubernetes schemas."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from tests.deploy.chart import K8S, render, render_all, render_backup, render_workers
from tests.deploy.modes import BROKER, MODES, PEERS, POSTGRES

KUBE_DNS = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
             "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
INGRESS_NS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
MONITORING_NS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
DNS_RULE = {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}], "to": KUBE_DNS}
REDIS = {"to": [{"podSelector": {"matchLabels": {"app": "redis"}}}]}
LLM = {"to": [{"ipBlock": {"cidr": "10.30.0.5/32"}}], "ports": [8080]}
EVERYTHING: dict[str, Any] = {**BROKER, "backup": {"enabled": True}, "networkPolicy": {
    "enabled": True, "egress": {**PEERS, "redis": REDIS, "llm": LLM}}}


def policy(docs: dict[str, dict]) -> dict[str, Any]:
    doc = docs["NetworkPolicy"]
    kubernetes_validate.validate(doc, K8S, strict=True)
    return doc["spec"]


def tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


@pytest.mark.parametrize("mode", sorted(m for m in MODES if "networkPolicy" not in MODES[m]))
def test_off_by_default(mode: str) -> None:
    assert "NetworkPolicy" not in {doc["kind"] for doc in render_all(MODES[mode])}


def test_sqlite_mode_api_reachable_from_the_ingress_controller_and_prometheus_and_out_only_to_dns() -> None:
    docs = render({"networkPolicy": {"enabled": True}})
    spec = policy(docs)
    assert spec["podSelector"]["matchLabels"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [{"from": [INGRESS_NS, MONITORING_NS], "ports": tcp(8000)}]
    assert spec["egress"] == [DNS_RULE]  # no PostgreSQL, Redis, broker or LLM named: none reachable


def test_postgresql_broker_mode_reaches_exactly_the_named_peers() -> None:
    api, workers = policy(render(EVERYTHING)), policy(render_workers(EVERYTHING))
    expected = [DNS_RULE,
                {"to": PEERS["postgresql"]["to"], "ports": tcp(5432)},
                {"to": REDIS["to"], "ports": tcp(6379)},
                {"to": LLM["to"], "ports": tcp(8080)},
                {"to": PEERS["broker"]["to"], "ports": tcp(5672)}]
    assert api["egress"] == expected
    assert workers["egress"] == expected  # workers embed, store, and consume from the broker too
    # the workers' only open port is their metrics port, to Prometheus
    assert workers["ingress"] == [{"from": [MONITORING_NS], "ports": tcp(9100)}]
    labels = render_workers(EVERYTHING)["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert workers["podSelector"]["matchLabels"].items() <= labels.items()
    assert not api["podSelector"]["matchLabels"].items() <= labels.items()  # the API's policy is not theirs


@pytest.mark.parametrize(("values", "egress"), [
    ({**POSTGRES, "networkPolicy": {"enabled": True, "egress": PEERS}},
     [DNS_RULE, {"to": PEERS["postgresql"]["to"], "ports": tcp(5432)}]),
    ({"networkPolicy": {"enabled": True}}, []),
], ids=["postgresql", "sqlite"])
def test_the_backup_job_accepts_nothing_and_reaches_only_its_database(values: dict[str, Any],
                                                                      egress: list[dict[str, Any]]) -> None:
    backup = render_backup({**values, "backup": {"enabled": True}})
    spec = policy(backup)
    assert spec["ingress"] == [] and spec["egress"] == egress
    labels = backup["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= labels.items()


def test_peers_ports_and_extra_rules_are_configurable() -> None:
    extra = [{"to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}], "ports": tcp(4317)}]  # an OTLP collector
    values = {"service": {"port": 9000}, "networkPolicy": {
        "enabled": True, "apiFrom": [{"podSelector": {"matchLabels": {"app": "gateway"}}}], "metricsFrom": [],
        "egress": {"dns": {"to": [], "ports": [53, 5353]}, "extra": extra}}}
    spec = policy(render(values))
    assert spec["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app": "gateway"}}}], "ports": tcp(9000)}]
    dns = [{"protocol": proto, "port": p} for p in (53, 5353) for proto in ("UDP", "TCP")]
    assert spec["egress"] == [{"ports": dns}, *extra]  # `to` left out: DNS to any address (a node-local cache)


def test_no_peer_at_all_closes_the_api_port() -> None:
    spec = policy(render({"networkPolicy": {"enabled": True, "apiFrom": [], "metricsFrom": []}}))
    assert spec["ingress"] == []


@pytest.mark.parametrize(("values", "message"), [
    ({**POSTGRES, "networkPolicy": {"enabled": True}}, "networkPolicy.egress.postgresql.to"),
    ({**BROKER, "networkPolicy": {"enabled": True, "egress": {"postgresql": PEERS["postgresql"]}}},
     "networkPolicy.egress.broker.to"),
])
def test_a_required_peer_left_out_is_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render_all(values)
