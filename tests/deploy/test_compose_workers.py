"""The `scaled` profile's broker mode: RabbitMQ, the `ragd worker` service (scalable) and the optional Flower,
checked as written and by Docker Compose's own loader (`docker-compose config`), and their start-up guards run
by a real shell."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.deploy.composefile import DEPLOY, REPLICAS, SERVICES, env, in_profile, interpolated, start_command
from tests.deploy.tools import compose

WORKER = SERVICES["worker"]
RABBITMQ = SERVICES["rabbitmq"]
FLOWER = SERVICES["flower"]
# design of issue 16: JobsSettings.task_time_limit_s defaults to 3600 s
TASK_TIME_LIMIT_S = 3600
VALUES = {"RAGD_POSTGRES_PASSWORD": "a1b2c3d4e5f6", "RAGD_AUTH__JWT_SECRET": "f0e1d2c3b4a5" * 4,
          "RAGD_AUDIT__SIGNING_KEY": "audit-seed-base64", "RAGD_ENCRYPTION__KEY": "enc-key-base64",
          "RAGD_RABBITMQ_PASSWORD": "0f1e2d3c4b5a", "WORKER_CONCURRENCY": "3", "RAGD_FLOWER_PASSWORD": "fl0wer"}


def _config(tmp_path: Path, *args: str, override: str | None = None) -> subprocess.CompletedProcess[str]:
    """`docker-compose -f deploy/compose.yaml [-f OVERRIDE] --env-file … --profile scaled --profile flower
    config ARGS`."""
    env_file = tmp_path / "scaled.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in VALUES.items()))
    extra: tuple[str, ...] = ()
    if override is not None:
        (tmp_path / "override.yaml").write_text(override)
        extra = ("-f", str(tmp_path / "override.yaml"))
    return compose(*extra, "--profile", "scaled", "--profile", "flower", "config", *args, env_file=env_file,
                   home=tmp_path)


def _resolved(tmp_path: Path, *services: str, override: str | None = None) -> dict[str, Any]:
    """The named services and what they depend on, as Compose resolves them."""
    res = _config(tmp_path, "--format", "json", *services, override=override)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["services"]


def _command_line(svc: dict[str, Any]) -> str:
    return " ".join(svc["command"]).replace("$$", "$")


def _ragd_argv(svc: dict[str, Any]) -> list[str]:
    """The arguments after ``exec ragd`` in a service's command."""
    match = re.search(r"exec ragd (.+)$", _command_line(svc))
    assert match, svc["command"]
    return shlex.split(match.group(1))


def test_the_broker_is_rabbitmq_with_its_own_account_and_a_health_check() -> None:
    assert RABBITMQ["image"].startswith("rabbitmq:") and RABBITMQ["image"].endswith("-management")
    assert "scaled" in RABBITMQ["profiles"] and RABBITMQ["networks"] == ["scaled"]
    assert "ports" not in RABBITMQ  # reached by the replicas and workers only
    assert RABBITMQ["hostname"]  # the node name, under which RabbitMQ keeps its data, does not change
    e = env("rabbitmq")
    assert e["RABBITMQ_DEFAULT_USER"] not in ("", "guest")
    assert interpolated(e["RABBITMQ_DEFAULT_PASS"]) == {"RAGD_RABBITMQ_PASSWORD"}
    test = RABBITMQ["healthcheck"]["test"]
    assert test[0] == "CMD" and "rabbitmq-diagnostics" in test
    assert any(v.endswith(":/var/lib/rabbitmq") for v in RABBITMQ["volumes"])


def test_rabbitmq_lets_a_task_run_its_full_time_limit_before_the_ack_timeout() -> None:
    mount = next(v for v in RABBITMQ["volumes"] if "/etc/rabbitmq/conf.d/" in v)
    conf = (DEPLOY / mount.split(":")[0]).read_text()
    (timeout_ms,) = re.findall(r"^consumer_timeout\s*=\s*(\d+)\s*$", conf, re.MULTILINE)
    assert int(timeout_ms) > TASK_TIME_LIMIT_S * 1000  # acks_late: the ack comes when the task ends


def test_replicas_and_workers_share_one_broker_url_with_the_broker_s_account() -> None:
    for name in (*REPLICAS, "worker"):
        url = urlsplit(env(name)["RAGD_JOBS__BROKER_URL"])
        assert url.scheme == "amqp" and url.hostname == "rabbitmq" and url.port == 5672, name
        assert url.username == env("rabbitmq")["RABBITMQ_DEFAULT_USER"], name
        assert interpolated(url.password) == interpolated(env("rabbitmq")["RABBITMQ_DEFAULT_PASS"]), name
        assert url.path == "/" + env("rabbitmq")["RABBITMQ_DEFAULT_VHOST"], name
        assert SERVICES[name]["depends_on"]["rabbitmq"]["condition"] == "service_healthy", name


def test_the_worker_runs_ragd_worker_with_the_replicas_image_settings_and_secrets() -> None:
    assert WORKER["image"] == SERVICES[REPLICAS[0]]["image"] == SERVICES["ragd"]["image"]
    assert env("worker") == env(REPLICAS[0])  # the same store, broker and shared secrets
    assert "scaled" in WORKER["profiles"] and WORKER["networks"] == ["scaled"]
    argv = _ragd_argv(WORKER)
    assert argv[0] == "worker"
    assert argv[argv.index("--queues") + 1] == "interactive,bulk"
    assert argv[argv.index("--concurrency") + 1] == "${WORKER_CONCURRENCY:-2}"
    # the health check reads the metrics port the worker opens
    port = argv[argv.index("--metrics-port") + 1]
    assert f"http://127.0.0.1:{port}/metrics" in " ".join(WORKER["healthcheck"]["test"])
    for dependency in ("postgres", "rabbitmq"):
        assert WORKER["depends_on"][dependency]["condition"] == "service_healthy", dependency
    # Celery's warm shutdown lets running tasks finish: more than Docker's 10 s
    minutes = re.fullmatch(r"(\d+)m", WORKER["stop_grace_period"])
    assert minutes and int(minutes.group(1)) >= 1


def test_the_worker_can_be_scaled() -> None:
    # nothing that names one container: a name, a published port, a fixed address, a volume of its own
    assert not {"container_name", "ports", "volumes", "hostname"} & WORKER.keys()
    assert WORKER["networks"] == ["scaled"]


def test_compose_scales_the_worker_and_refuses_a_named_one(tmp_path: Path) -> None:
    services = _resolved(tmp_path, "worker", override="services:\n  worker:\n    scale: 3\n")
    assert services["worker"]["scale"] == 3
    # the loader does check: a container name cannot be scaled
    res = _config(tmp_path, "--quiet",
                  override="services:\n  worker:\n    scale: 3\n    container_name: ragd-worker\n")
    assert res.returncode != 0 and "container_name" in res.stderr


def test_compose_resolves_the_worker_and_the_broker(tmp_path: Path) -> None:
    services = _resolved(tmp_path, "worker")
    assert set(services) == {"postgres", "rabbitmq", "worker"}  # what a worker needs, no more
    worker = services["worker"]
    url = urlsplit(worker["environment"]["RAGD_JOBS__BROKER_URL"])
    assert url.password == VALUES["RAGD_RABBITMQ_PASSWORD"]
    assert services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"] == VALUES["RAGD_RABBITMQ_PASSWORD"]
    assert "--concurrency 3 " in _command_line(worker)
    for secret in ("RAGD_AUTH__JWT_SECRET", "RAGD_AUDIT__SIGNING_KEY", "RAGD_ENCRYPTION__KEY"):
        assert worker["environment"][secret] == VALUES[secret]


def test_a_worker_starts_ragd_worker_with_its_secrets(tmp_path: Path) -> None:
    worker = _resolved(tmp_path, "worker")["worker"]
    secrets = {"RAGD_AUTH__JWT_SECRET": "j" * 40, "RAGD_AUDIT__SIGNING_KEY": "a" * 44}
    res = start_command(worker, tmp_path, secrets, {"ragd": 'echo "ragd $*"'})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ragd worker --concurrency 3 --queues interactive,bulk --metrics-port 9100"
    res = start_command(worker, tmp_path, {**secrets, "RAGD_AUDIT__SIGNING_KEY": ""}, {"ragd": 'echo "ragd $*"'})
    assert res.returncode != 0 and "ragd worker" not in res.stdout
    assert "RAGD_AUDIT__SIGNING_KEY" in res.stderr and "deploy/scaled.env" in res.stderr


@pytest.mark.parametrize(("password", "starts"), [("s3cret", True), ("", False)])
def test_the_broker_refuses_to_start_without_its_password(tmp_path: Path, password: str, starts: bool) -> None:
    res = start_command(RABBITMQ, tmp_path, {"RABBITMQ_DEFAULT_PASS": password},
                        {"docker-entrypoint.sh": 'echo "entrypoint $*"'})
    assert (res.returncode == 0) is starts, res.stderr
    if starts:
        assert res.stdout.strip() == "entrypoint rabbitmq-server"
    else:
        assert "RAGD_RABBITMQ_PASSWORD" in res.stderr and "entrypoint" not in res.stdout


def test_flower_is_optional_on_loopback_behind_a_password(tmp_path: Path) -> None:
    assert FLOWER["profiles"] == ["flower"] and in_profile("flower") == {"flower"}
    assert FLOWER["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    (port,) = FLOWER["ports"]
    assert port.startswith("127.0.0.1:")  # not published beyond the host
    services = _resolved(tmp_path, "flower")
    assert set(services) == {"rabbitmq", "flower"}
    flower = services["flower"]["environment"]
    assert flower["FLOWER_BASIC_AUTH"] == f"admin:{VALUES['RAGD_FLOWER_PASSWORD']}"
    assert urlsplit(flower["CELERY_BROKER_URL"]).password == VALUES["RAGD_RABBITMQ_PASSWORD"]
    assert interpolated(env("flower")["CELERY_BROKER_URL"]) == interpolated(env("worker")["RAGD_JOBS__BROKER_URL"])


@pytest.mark.parametrize(("auth", "starts"), [("admin:fl0wer", True), ("admin:", False)])
def test_flower_refuses_to_start_without_its_password(tmp_path: Path, auth: str, starts: bool) -> None:
    res = start_command(FLOWER, tmp_path, {"FLOWER_BASIC_AUTH": auth}, {"celery": 'echo "celery $*"'})
    assert (res.returncode == 0) is starts, res.stderr
    if starts:
        assert res.stdout.strip() == "celery flower --port=5555"
    else:
        assert "RAGD_FLOWER_PASSWORD" in res.stderr and "celery" not in res.stdout
