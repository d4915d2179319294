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

MODES: dict[str, dict[str, Any]] = {
    "sqlite": {},
    "sqlite-everything": {"ingress": {"enabled": True}, "serviceMonitor": {"enabled": True}},
    "postgresql": POSTGRES,
    "broker-workers": {**BROKER, "workers": {"autoscaling": {"enabled": True}}},
    "broker-everything": {**BROKER, "ingress": {"enabled": True}, "serviceMonitor": {"enabled": True}},
    "example-file": EXAMPLE,
}
"""Each mode's values: SQLite and PostgreSQL, workers, with everything optional on."""

CRDS = {"ServiceMonitor", "PodMonitor"}
"""Prometheus Operator kinds: not in the core Kubernetes schemas (their shape is checked by hand)."""
