"""deploy/compose.yaml as written (PyYAML resolves the shared replica definition) and helpers the Compose tests
share: the variables a value interpolates, a service's start command run by a real shell."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from tests.support import REPO

DEPLOY = REPO / "deploy"
COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
REPLICAS = ("ragd-1", "ragd-2")
SHARED_SECRETS = ("RAGD_AUTH__JWT_SECRET", "RAGD_AUDIT__SIGNING_KEY", "RAGD_ENCRYPTION__KEY")
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def in_profile(profile: str) -> set[str]:
    return {name for name, svc in SERVICES.items() if profile in svc.get("profiles", [])}


def scaled() -> set[str]:
    return in_profile("scaled")


def env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service]["environment"].items()}


def interpolated(value: Any) -> set[str]:
    """Variables Compose substitutes in a (nested) value; ``$$`` is a literal dollar, not a variable."""
    text = json.dumps(value).replace("$$", "")
    return set(INTERPOLATION.findall(text))


def start_command(svc: dict[str, Any], tmp_path: Path, environment: dict[str, str],
                  stand_ins: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A service's entrypoint + command as its container runs it, with ``stand_ins`` (program name → shell body)
    on PATH in place of the image's programs. ``svc`` is a service as written or as Compose resolved it."""
    argv = [*svc["entrypoint"], *(arg.replace("$$", "$") for arg in svc["command"])]  # Compose's unescaping
    for name, body in stand_ins.items():
        fake = tmp_path / name
        fake.write_text(f"#!/bin/sh\n{body}\n")
        fake.chmod(0o755)
    run_env = {"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin", **environment}
    return subprocess.run(argv, env=run_env, capture_output=True, text=True, timeout=30)
