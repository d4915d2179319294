"""Values for every mode of the chart, shared by the tests that check all of them (schemas, Pod Security)."""

from __future__ import annotations

from typing import Any

import yaml
from tests.deploy.chart import CHART

SHARED = {"RAGD_AUTH__JWT_SECRET": "0123456789abcdef" * 4, "RAGD_AUDIT__SIGNING_KEY": "seed-of-the-audit-key"}
PG_URL = "postgresql://ragd:pw@db.example:5432/ragd"
BROKER_URL = "amqp://ragd:pw@rabbitmq.mq.svc:5672/ragd"
POSTGRES: dict[str, Any] = {"store": {"url": PG_URL}, "secrets": SHARED}
BROKER: dict[str, Any] = {**POSTGRES, "broker": {"url": BROKER_URL}}
EXAMPLE: dict[str, Any] = yaml.safe_load((CHART / "values-postgresql.yaml").read_text())
PEERS = {"postgresql": {"to": [{"ipBlock": {"cidr": "10.20.0.0/24"}}]},
         "broker": {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mq"}}}]}}

GPU = {"count": 1, "runtimeClassName": "nvidia", "nodeSelector": {"nvidia.com/gpu.present": "true"},
       "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
LLM_CLAIM: dict[str, Any] = {"enabled": True, "models": {"existingClaim": "gguf-models"}}
LLM_IMAGE: dict[str, Any] = {"enabled": True, "models": {"image": {"repository": "registry.example/models/mistral",
                                                                   "tag": "7b-instruct-q4_k_m"}}}

MODES: dict[str, dict[str, Any]] = {
    "sqlite": {},
    "sqlite-backup": {"backup": {"enabled": True}},
    "sqlite-everything": {"backup": {"enabled": True}, "networkPolicy": {"enabled": True},
                          "ingress": {"enabled": True}, "serviceMonitor": {"enabled": True}},
    "postgresql": POSTGRES,
    "postgresql-autoscaled": {**POSTGRES, "autoscaling": {"enabled": True}},
    "postgresql-backup": {**POSTGRES, "backup": {"enabled": True}},
    "broker-workers": {**BROKER, "workers": {"autoscaling": {"enabled": True}}},
    "broker-everything": {**BROKER, "autoscaling": {"enabled": True}, "backup": {"enabled": True},
                          "networkPolicy": {"enabled": True, "egress": PEERS}, "ingress": {"enabled": True},
                          "serviceMonitor": {"enabled": True}},
    "example-file": {**EXAMPLE, "backup": {"enabled": True}, "networkPolicy": {"enabled": True, "egress": PEERS}},
    "sqlite-llm-gpu": {"llm": {**LLM_CLAIM, "gpu": GPU}, "backup": {"enabled": True}},
    "broker-llm-image": {**BROKER, "llm": LLM_IMAGE, "backup": {"enabled": True},
                         "networkPolicy": {"enabled": True, "egress": PEERS}},
}
"""Each mode's values: SQLite and PostgreSQL, workers, autoscaling, backups, NetworkPolicies and the llama.cpp
variant (a model from a claim on a GPU, or copied from an image) on."""

CRDS = {"ServiceMonitor", "PodMonitor"}
"""Prometheus Operator kinds: not in the core Kubernetes schemas (their shape is checked by hand)."""
