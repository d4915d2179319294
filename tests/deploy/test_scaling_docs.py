"""docs/scaling.md states what the code and the deployment files do: the pool size, the files it names, the
commands it gives for the compose profile, the workers' command lines and the chart's worker defaults."""

from __future__ import annotations

import re

import yaml
from tests.support import REPO

from ragd.store.postgres.connection import POOL_SIZE

DOC = (REPO / "docs" / "scaling.md").read_text()


def test_the_pool_size_is_the_code_s() -> None:
    assert f"at most **{POOL_SIZE} connections**" in DOC
    assert "ragd.store.postgres.connection.POOL_SIZE" in DOC


def test_every_named_file_exists() -> None:
    named = set(re.findall(r"`((?:deploy|docs|bench|tests)/[\w./-]+?)/?`", DOC))
    assert {"deploy/compose.yaml", "deploy/caddy/Caddyfile"} <= named
    for path in named:
        assert (REPO / path).exists(), path


def test_the_compose_commands_name_real_profiles_and_files() -> None:
    compose = (REPO / "deploy" / "compose.yaml").read_text()
    for doc in (DOC, compose, (REPO / "docs" / "operations.md").read_text()):
        assert "--env-file deploy/scaled.env --profile scaled up -d --build proxy worker" in doc
    assert "cp deploy/scaled.env.example deploy/scaled.env" in DOC


def test_linked_from_the_readme() -> None:
    assert "(docs/scaling.md)" in (REPO / "README.md").read_text()


WORKERS = DOC[DOC.index("## Workers: ingestion on other machines"):DOC.index("## Connection sizing")]


def test_the_worker_command_lines_use_the_flags_compose_and_helm_pass() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())["services"]
    command = " ".join(compose["worker"]["command"])
    bare = re.search(r"^ragd worker (.+)$", WORKERS, re.MULTILINE)
    assert bare, "no bare `ragd worker` command"
    flags = set(re.findall(r"--[a-z-]+", bare.group(1)))
    assert flags == {"--concurrency", "--queues", "--metrics-port"}
    assert flags <= set(re.findall(r"--[a-z-]+", command))
    assert "--queues interactive,bulk" in bare.group(1) and "--queues interactive,bulk" in command
    assert compose["rabbitmq"]["image"] in WORKERS
    for profile in ("scaled", "flower"):
        assert f"--profile {profile}" in WORKERS and any(
            profile in svc.get("profiles", []) for svc in compose.values())
    assert "--scale worker=3 worker" in WORKERS


def test_the_helm_table_states_the_chart_s_defaults() -> None:
    values = yaml.safe_load((REPO / "deploy" / "helm" / "ragd" / "values.yaml").read_text())["workers"]
    rows = dict(re.findall(r"^\| `workers\.([A-Za-z]+)` \| `([^`]+)` \|", WORKERS, re.MULTILINE))
    assert {"enabled", "replicas", "concurrency", "queues", "terminationGracePeriodSeconds", "metricsPort"} <= set(rows)
    for key, text in rows.items():
        assert yaml.safe_load(text) == values[key], key


def test_the_autoscaling_rule_serves_the_chart_s_metric() -> None:
    values = yaml.safe_load((REPO / "deploy" / "helm" / "ragd" / "values.yaml").read_text())["workers"]
    metric = values["autoscaling"]["metric"]["name"]
    assert f"seriesQuery: '{metric}{{" in WORKERS
    assert values["autoscaling"]["enabled"] is False  # "off" by default, as the table says
