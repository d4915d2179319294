"""docs/operations.md's Kubernetes sections state what the chart does: the values they name exist, the defaults
in their tables are values.yaml's, the messages they quote are the templates', the anchors the chart points to
are headings."""

from __future__ import annotations

import re
from typing import Any

import yaml
from tests.deploy.chart import CHART
from tests.support import REPO

DOC = (REPO / "docs" / "operations.md").read_text()
K8S = DOC[DOC.index("## Kubernetes (Helm)"):]
PROSE = " ".join(K8S.split())  # phrases that a line break may cut
VALUES: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
TEMPLATES = "\n".join(p.read_text() for p in sorted((CHART / "templates").iterdir()))


def lookup(path: str) -> Any:
    node: Any = VALUES
    for key in path.split("."):
        assert isinstance(node, dict) and key in node, f"{path}: no such value in values.yaml"
        node = node[key]
    return node


def anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def test_every_value_named_exists() -> None:
    roots = ("autoscaling", "backup", "networkPolicy", "serviceAccount", "tmpVolume", "podDisruptionBudget",
             "persistence", "workers", "llm")
    named = set(re.findall(r"`((?:" + "|".join(roots) + r")(?:\.[A-Za-z]+)+)`", K8S))
    assert {"backup.keep", "backup.postgresql.image", "autoscaling.minReplicas", "tmpVolume.sizeLimit"} <= named
    for path in named:
        lookup(path)
    for target in set(re.findall(r"`egress\.([a-z]+)", K8S)):  # short for networkPolicy.egress.<target>
        lookup(f"networkPolicy.egress.{target}")


def test_the_autoscaling_table_states_the_chart_s_defaults() -> None:
    rows = dict(re.findall(r"^\| `autoscaling\.([A-Za-z]+)` \| `?([^`|]+?)`? \|", K8S, re.MULTILINE))
    assert set(rows) == {"minReplicas", "maxReplicas", "targetCPUUtilizationPercentage",
                         "targetMemoryUtilizationPercentage", "behavior"}
    for key, text in rows.items():
        assert (None if text == "off" else yaml.safe_load(text)) == VALUES["autoscaling"][key], key


def test_the_backup_defaults_and_the_quoted_messages_are_the_chart_s() -> None:
    backup = VALUES["backup"]
    assert f"`backup.schedule`, `{backup['schedule']}`" in K8S and f"`backup.keep` ({backup['keep']})" in K8S
    assert f"tag `{backup['postgresql']['image']['tag']}`" in K8S
    assert f"--schema={backup['postgresql']['schema']}` (`backup.postgresql.schema`;" in K8S
    quoted = "needs PostgreSQL mode … the embedded SQLite store runs exactly one replica"
    assert quoted in PROSE
    for part in quoted.split(" … "):
        assert part in TEMPLATES
    assert "database schema version N is newer than this ragd (M): upgrade ragd" in PROSE
    source = (REPO / "src" / "ragd" / "store" / "postgres" / "schema.py").read_text()
    assert "is newer than this ragd" in source and "pg_advisory_xact_lock" in source


def test_the_anchors_the_chart_names_are_headings() -> None:
    headings = {anchor(h) for h in re.findall(r"^#+ (.+)$", DOC, re.MULTILINE)}
    chart_text = (CHART / "values.yaml").read_text() + TEMPLATES
    linked = set(re.findall(r"docs/operations\.md#([a-z0-9-]+)", chart_text))
    assert {"pod-security-the-restricted-profile", "backups-on-kubernetes"} <= linked
    assert linked <= headings, linked - headings
    assert "upgrading-with-helm" in headings


def test_every_named_test_file_exists() -> None:
    for path in re.findall(r"`(tests/deploy/[\w./]+\.py)`", K8S):
        assert (REPO / path).is_file(), path
