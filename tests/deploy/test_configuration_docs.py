"""docs/configuration.md is generated from the settings model; `ragd config show` masks secrets."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml
from tests.support import REPO

from ragd.config_docs import render_markdown, rows


def test_configuration_reference_is_up_to_date() -> None:
    committed = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "run: ragd config docs --output docs/configuration.md"


def test_every_setting_is_described() -> None:
    all_rows = list(rows())
    assert len(all_rows) > 30
    for row in all_rows:
        assert row.description.strip(), f"{row.env} has no description in src/ragd/config/"
        assert row.env.startswith("RAGD_") and row.type and row.default


def test_config_show_masks_secrets() -> None:
    env = {"PATH": "/usr/bin:/bin", "RAGD_METRICS__TOKEN": "do-not-print-me", "RAGD_RETRIEVAL__TOP_K": "7"}
    for fmt, load in (("json", json.loads), ("yaml", yaml.safe_load)):
        res = subprocess.run([sys.executable, "-m", "ragd.cli.main", "config", "show", "--format", fmt],
                             capture_output=True, text=True, env=env, timeout=60)
        assert res.returncode == 0, res.stderr
        assert "do-not-print-me" not in res.stdout
        data = load(res.stdout)
        assert data["metrics"]["token"] == "**********" and data["retrieval"]["top_k"] == 7
