"""The Compose file's `scaled` profile (PostgreSQL, Redis, two replicas, Caddy), checked without a Docker engine:
the file as written (PyYAML resolves the shared replica definition), as Docker Compose's own loader resolves it
(`docker-compose config`: schema, profiles, interpolation), Caddy's own parse of the proxy configuration, and
the replicas' start-up guard run by a real shell."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.deploy.composefile import (
    COMPOSE,
    DEPLOY,
    REPLICAS,
    SERVICES,
    SHARED_SECRETS,
    env,
    in_profile,
    interpolated,
    scaled,
    start_command,
)
from tests.deploy.tools import CADDYFILE, caddy_exe, compose, compose_exe
from tests.support import REPO


def test_default_is_the_single_sqlite_service() -> None:
    default = {name for name, svc in SERVICES.items() if "profiles" not in svc}
    assert default == {"ragd"}
    assert "RAGD_STORE__URL" not in SERVICES["ragd"]["environment"]  # empty: SQLite in the data volume


def test_scaled_profile_has_postgres_redis_rabbitmq_two_replicas_workers_and_a_proxy() -> None:
    assert scaled() == {"postgres", "redis", "rabbitmq", *REPLICAS, "worker", "proxy"}
    assert SERVICES["postgres"]["image"].startswith("pgvector/pgvector:pg")
    assert SERVICES["redis"]["image"].startswith("redis:")
    for name in ("postgres", "redis"):
        assert SERVICES[name]["healthcheck"]["test"][0] == "CMD", name
    assert "pg_isready" in SERVICES["postgres"]["healthcheck"]["test"]
    # the image's init directory enables pgvector (a superuser step, done once at database creation)
    init = next(v.split(":")[0] for v in SERVICES["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v)
    sql = " ".join(p.read_text() for p in (DEPLOY / init).glob("*.sql"))
    assert "CREATE EXTENSION IF NOT EXISTS vector" in sql


def test_replicas_share_one_postgres_one_redis_and_the_same_secrets() -> None:
    first = env(REPLICAS[0])
    for name in REPLICAS:
        svc, e = SERVICES[name], env(name)
        assert svc["image"] == SERVICES["ragd"]["image"], name  # the same image as the default service
        store = urlsplit(e["RAGD_STORE__URL"])
        assert store.scheme == "postgresql" and store.hostname == "postgres" and store.port == 5432, name
        assert "sqlite" not in json.dumps(svc).lower(), name
        limits = urlsplit(e["RAGD_RATELIMIT__URL"])
        assert limits.scheme == "redis" and limits.hostname == "redis", name
        for secret in SHARED_SECRETS:
            assert e.get(secret) and e[secret] == first[secret], (name, secret)
        assert e == first, name  # nothing differs between replicas but the data volume
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "/api/v1/ready" in " ".join(svc["healthcheck"]["test"])
    volumes = [SERVICES[name]["volumes"] for name in REPLICAS]
    assert volumes[0] != volumes[1] and all(v[0].endswith(":/data") for v in volumes)
    # the database password in the replicas' URL is the one the database is created with
    password = interpolated(urlsplit(first["RAGD_STORE__URL"]).password)
    assert password and password == interpolated(SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"])


def test_replica_settings_exist_and_every_variable_is_in_the_example_env_file() -> None:
    documented = (REPO / "docs" / "configuration.md").read_text()
    for key in env(REPLICAS[0]):
        assert f"`{key}`" in documented, key
    example = {line.split("=", 1)[0] for line in (DEPLOY / "scaled.env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    used = set().union(*(interpolated(SERVICES[name]) for name in scaled() | in_profile("flower")))
    assert used and used == example
    assert "deploy/scaled.env" in (REPO / ".gitignore").read_text().split()


def _start_command(tmp_path: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The replicas' entrypoint + command as the container runs it, with `ragd` a stand-in on PATH."""
    return start_command(SERVICES[REPLICAS[0]], tmp_path, environment, {"ragd": 'echo "ragd $*"'})


@pytest.mark.parametrize("missing", ["RAGD_AUTH__JWT_SECRET", "RAGD_AUDIT__SIGNING_KEY"])
def test_a_replica_refuses_to_start_without_a_shared_secret(tmp_path: Path, missing: str) -> None:
    # Compose substitutes an unset variable by "" (`${X:-}`): the guard must treat empty as missing
    environment = {"RAGD_AUTH__JWT_SECRET": "j" * 40, "RAGD_AUDIT__SIGNING_KEY": "a" * 44, missing: ""}
    res = _start_command(tmp_path, environment)
    assert res.returncode != 0 and "ragd serve" not in res.stdout
    assert missing in res.stderr and "deploy/scaled.env" in res.stderr


def test_a_replica_starts_ragd_serve_with_its_secrets(tmp_path: Path) -> None:
    res = _start_command(tmp_path, {"RAGD_AUTH__JWT_SECRET": "j" * 40, "RAGD_AUDIT__SIGNING_KEY": "a" * 44})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ragd serve"


def test_the_proxy_balances_the_replicas_on_readiness() -> None:
    proxy = SERVICES["proxy"]
    assert set(proxy["depends_on"]) == set(REPLICAS)
    mount = next(v for v in proxy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro"))
    assert (DEPLOY / mount.split(":")[0]).resolve() == CADDYFILE
    # Caddy's own parser: the configuration is valid and says what we mean
    res = subprocess.run([caddy_exe(), "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    server = json.loads(res.stdout)["apps"]["http"]["servers"]
    (only,) = server.values()
    assert only["listen"] == [":8080"] and proxy["ports"] == ["8080:8080"]
    (handler,) = only["routes"][0]["handle"]
    assert handler["handler"] == "reverse_proxy"
    assert {u["dial"] for u in handler["upstreams"]} == {f"{name}:8000" for name in REPLICAS}
    active = handler["health_checks"]["active"]
    assert active["uri"] == "/api/v1/ready" and active["expect_status"] == 200
    assert handler["flush_interval"] == -1  # streamed answers are not buffered


def test_only_the_proxy_is_a_trusted_proxy() -> None:
    address = ipaddress.ip_address(SERVICES["proxy"]["networks"]["scaled"]["ipv4_address"])
    (pool,) = COMPOSE["networks"]["scaled"]["ipam"]["config"]
    assert address in ipaddress.ip_network(pool["subnet"])
    assert address not in ipaddress.ip_network(pool["ip_range"])  # no other container can be given it
    for name in REPLICAS:
        assert json.loads(env(name)["RAGD_SERVER__TRUSTED_PROXIES"]) == [str(address)]
        assert "ports" not in SERVICES[name]  # reachable only through the proxy
        assert SERVICES[name]["networks"] == ["scaled"]


def _env_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    values = {"RAGD_POSTGRES_PASSWORD": "a1b2c3d4e5f6", "RAGD_AUTH__JWT_SECRET": "f0e1d2c3b4a5" * 4,
              "RAGD_AUDIT__SIGNING_KEY": "audit-seed-base64", "RAGD_ENCRYPTION__KEY": "enc-key-base64",
              "RAGD_RABBITMQ_PASSWORD": "0f1e2d3c4b5a"}
    path = tmp_path / "scaled.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path, values


def test_compose_loads_the_default_without_any_scaled_variable(tmp_path: Path) -> None:
    # Compose interpolates every service, in every profile: nothing of `scaled` may be required here
    res = compose("config", "--format", "json", home=tmp_path)
    assert res.returncode == 0, res.stderr
    assert set(json.loads(res.stdout)["services"]) == {"ragd"}


def test_compose_resolves_the_documented_scaled_command(tmp_path: Path) -> None:
    env_file, values = _env_file(tmp_path)
    # the services `docker compose --env-file … --profile scaled up proxy worker` starts (docs/scaling.md)
    res = compose("--profile", "scaled", "config", "--format", "json", "proxy", "worker", env_file=env_file,
                  home=tmp_path)
    assert res.returncode == 0, res.stderr
    services = json.loads(res.stdout)["services"]
    assert set(services) == {"postgres", "redis", "rabbitmq", *REPLICAS, "worker", "proxy"}  # not the SQLite `ragd`
    environments = [services[name]["environment"] for name in REPLICAS]
    assert environments[0] == environments[1]
    for secret in SHARED_SECRETS:
        assert environments[0][secret] == values[secret]
    store = urlsplit(environments[0]["RAGD_STORE__URL"])
    assert store.scheme == "postgresql" and store.password == values["RAGD_POSTGRES_PASSWORD"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == values["RAGD_POSTGRES_PASSWORD"]


def test_compose_rejects_a_broken_file(tmp_path: Path) -> None:
    # the loader really validates: a replica with a misspelled key is refused
    broken = tmp_path / "compose.yaml"
    broken.write_text((DEPLOY / "compose.yaml").read_text().replace("  ragd-2:\n", "  ragd-2:\n    imagee: x\n"))
    res = subprocess.run([compose_exe(), "-f", str(broken), "config", "--quiet"],
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode != 0 and "imagee" in res.stderr
