"""`.env` files read at start (src/ragd/config/envfile.py): the same names as the environment, `./.env` or the
file `--env-file` / RAGD_ENV_FILE names; flags beat the environment, which beats the file; other tools' keys are
ignored, an unknown RAGD_ key or a bad value is one clear line and exit code 1, and no secret is ever printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.support import REPO, Server

SECRET = "do-not-print-this-token-1234"


def ragd(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``ragd ARGS`` in ``cwd``, with no RAGD_ variable from this test run's environment but those given."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAGD_")}
    return subprocess.run([sys.executable, "-m", "ragd.cli.main", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**base, "PYTHONPATH": str(REPO / "src"), **env})


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def _show(res: subprocess.CompletedProcess[str]) -> dict:
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_config_show_reads_dot_env_in_the_working_directory(tmp_path: Path) -> None:
    _write(tmp_path / ".env", "# shared with Docker Compose\nPOSTGRES_PASSWORD=not-ragds\n"
           f"export RAGD_RETRIEVAL__TOP_K=7\nRAGD_METRICS__TOKEN={SECRET}\nRAGD_SERVER__CORS_ORIGINS='[\"https://app.example.com\"]'\n")
    res = ragd(tmp_path, "config", "show")
    data = _show(res)
    assert data["retrieval"]["top_k"] == 7 and data["server"]["cors_origins"] == ["https://app.example.com"]
    assert data["metrics"]["token"] == "**********"
    assert SECRET not in res.stdout + res.stderr and "not-ragds" not in res.stdout + res.stderr
    assert "chmod 600" not in res.stderr  # private file: no warning


def test_flags_beat_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    _write(tmp_path / ".env", "RAGD_RETRIEVAL__TOP_K=7\nRAGD_RETRIEVAL__MODE=bm25\nRAGD_DATA_DIR=from-file\n")
    data = _show(ragd(tmp_path, "config", "show", "--data-dir", str(tmp_path / "from-flag"),
                      RAGD_RETRIEVAL__TOP_K="9", RAGD_DATA_DIR="from-env"))
    assert data["retrieval"]["top_k"] == 9  # environment over file
    assert data["retrieval"]["mode"] == "bm25"  # the file's, the environment says nothing (nested values merge)
    assert data["data_dir"] == str(tmp_path / "from-flag")  # flag over both


def test_env_file_option_and_variable_name_another_file(tmp_path: Path) -> None:
    _write(tmp_path / ".env", "RAGD_RETRIEVAL__TOP_K=7\n")
    other = _write(tmp_path / "prod.env", "RAGD_RETRIEVAL__TOP_K=11\n")
    assert _show(ragd(tmp_path, "--env-file", str(other), "config", "show"))["retrieval"]["top_k"] == 11
    assert _show(ragd(tmp_path, "config", "show", RAGD_ENV_FILE=str(other)))["retrieval"]["top_k"] == 11
    assert _show(ragd(tmp_path, "config", "show", RAGD_ENV_FILE=""))["retrieval"]["top_k"] == 5  # none read
    for res in (ragd(tmp_path, "--env-file", "missing.env", "config", "show"),
                ragd(tmp_path, "config", "show", RAGD_ENV_FILE=str(tmp_path / "missing.env"))):
        assert res.returncode == 1 and "[configuration_error]" in res.stderr, res.stderr
        assert "missing.env" in res.stderr and "no such file" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(("line", "says"), [
    ("RAGD_SERVER__PORT=eighty", "server.port"),
    ("RAGD_SERVER__PROT=8080", "server.prot"),
    ("RAGD_TOP_K=8", "top_k"),
    ("RAGD_SERVER__CORS_ORIGINS=[not json", "server"),
    (f"RAGD_AUTH__JWT_SECRET={SECRET}", "auth.jwt_secret must be a random string"),
])
def test_a_bad_line_is_a_configuration_error(tmp_path: Path, line: str, says: str) -> None:
    _write(tmp_path / ".env", f"RAGD_RETRIEVAL__TOP_K=7\n{line}\n")
    for args in (("config", "show"), ("serve", "--port", "1")):
        res = ragd(tmp_path, *args, RAGD_DATA_DIR=str(tmp_path / "data"))
        message = " ".join(res.stderr.split())
        assert res.returncode == 1, (args, res.stderr)
        assert "[configuration_error]" in message and says in message, message
        assert f"from {tmp_path / '.env'}" in message  # the file is named
        assert SECRET not in res.stderr + res.stdout and "Traceback" not in res.stderr
    assert not (tmp_path / "data").exists()  # the server never started


def test_a_file_other_users_can_read_gets_a_warning(tmp_path: Path) -> None:
    env = _write(tmp_path / ".env", f"RAGD_METRICS__TOKEN={SECRET}\n", mode=0o644)
    res = ragd(tmp_path, "config", "show")
    assert res.returncode == 0 and f"chmod 600 {env}" in " ".join(res.stderr.split())
    assert "readable by other users" in res.stderr and SECRET not in res.stderr + res.stdout


@pytest.mark.parametrize("how", ["./.env, one process", "--env-file, two processes"])
def test_serve_reads_the_file_and_so_do_its_worker_processes(tmp_path: Path, how: str) -> None:
    """The file alone configures CORS: the headers show the serving process read it. With two server processes
    uvicorn's workers build the app from the environment, not from the parent's settings: they must find the file
    too. No secret of the file reaches the log."""
    origin = "https://app.example.com"
    text = f"RAGD_SERVER__CORS_ORIGINS=[\"{origin}\"]\nRAGD_INGEST__WORKERS=0\nRAGD_METRICS__TOKEN={SECRET}\n"
    argv = [sys.executable, "-m", "ragd.cli.main"]
    if how.startswith("--env-file"):
        argv += ["--env-file", str(_write(tmp_path / "ragd.env", text)), "serve", "--workers", "2"]
    else:
        _write(tmp_path / ".env", text)
        argv += ["serve"]
    server = Server(tmp_path / "data", {"PYTHONPATH": str(REPO / "src")}, argv=argv, cwd=tmp_path).start(180)
    try:
        for _ in range(4):
            r = httpx.get(server.url + "/api/v1/health", headers={"Origin": origin, "Connection": "close"})
            assert r.status_code == 200 and r.headers.get("access-control-allow-origin") == origin, r.headers
        metrics = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {SECRET}"})
        assert metrics.status_code == 200  # the file's token
    finally:
        server.stop()
    assert SECRET not in (tmp_path / f"server-{server.port}.log").read_text()
