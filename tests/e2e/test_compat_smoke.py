"""scripts/compat_smoke.py — the checks of the deployments ragd replaces — run as an operator would, against a real
`ragd serve` with authentication on (issue 17): it passes against ragd as shipped with the compatibility metric
names on, and fails, non-zero and saying why, against a server that lacks something."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.auth.conftest import HIGH_LOGIN_LIMITS, PASSWORD, login, server_with_admin
from tests.support import REPO, Server, free_port

SCRIPT = REPO / "scripts" / "compat_smoke.py"
ADMIN = "op@example.org"


def smoke(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--url", url, *args], capture_output=True, text=True,
                          timeout=900)


def _server(data_dir: Path, compat_names: bool) -> Iterator[Server]:
    s = server_with_admin(data_dir, ADMIN, RAGD_METRICS__COMPAT_NAMES=str(compat_names).lower(),
                          **HIGH_LOGIN_LIMITS)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def compat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory.mktemp("smoke") / "data", compat_names=True)


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory.mktemp("smoke-plain") / "data", compat_names=False)


def test_the_old_deployments_checks_pass_against_ragd(compat_server: Server) -> None:
    res = smoke(compat_server.url, "--user", ADMIN, "--password", PASSWORD)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        f"ok   {name}" for name in ("health", "ready", "login", "upload", "query", "chat", "metrics")]
    assert lines[-1] == "all checks passed"
    with compat_server.client() as http:  # what the script made is gone again
        headers = login(http, ADMIN)
        assert http.get("/api/v1/documents", headers=headers).json()["total"] == 0
        assert http.get("/api/v1/conversations", headers=headers).json()["total"] == 0


def test_it_fails_on_the_first_missing_piece(plain_server: Server) -> None:
    res = smoke(plain_server.url, "--user", ADMIN, "--password", PASSWORD)
    assert res.returncode == 1, res.stdout + res.stderr
    last = res.stdout.splitlines()[-1]
    assert last.startswith("FAIL metrics: GET /metrics: missing filagent_requests_total"), res.stdout
    assert "RAGD_METRICS__COMPAT_NAMES=true" in last
    assert "ok   chat:" in res.stdout  # everything before passed


def test_it_fails_with_a_wrong_password_and_without_a_server(plain_server: Server) -> None:
    res = smoke(plain_server.url, "--user", ADMIN, "--password", "not the password")
    assert res.returncode == 1
    assert res.stdout.splitlines()[-1].startswith("FAIL login: POST /auth/login: HTTP 401"), res.stdout
    res = smoke(plain_server.url)  # no --user against a server that requires sign-in
    assert res.returncode == 1 and "FAIL upload: POST /documents/upload: HTTP 401" in res.stdout, res.stdout
    res = smoke(f"http://127.0.0.1:{free_port()}")
    assert res.returncode == 1 and res.stdout.startswith("FAIL health: GET /health: ConnectError"), res.stdout
    res = smoke(plain_server.url, "--user", ADMIN)
    assert res.returncode == 2 and "--user needs --password" in res.stderr
