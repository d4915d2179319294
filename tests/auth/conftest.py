"""A real `ragd serve` with authentication on, and a small world of users in two tenants.

Tenant ``default`` (the operator tenant) holds admin_a, user_a, viewer_a and api_a (an ``api_user`` acting through
an API key); tenant ``acme`` holds the same roles. The first admin of each tenant is made with the CLI
(`ragd users create-admin`), the others through the admin API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tests import backend
from tests.support import Server

PASSWORD = "correct horse battery"
HIGH_LIMITS = json.dumps({"admin": 100_000, "user": 100_000, "api_user": 100_000, "viewer": 100_000})
#: Every test client signs in from 127.0.0.1: servers not testing sign-in throttling lift its budgets.
HIGH_LOGIN_LIMITS = {f"RAGD_AUTH__LOGIN_ATTEMPTS_{scope}PER_MINUTE": "100000"
                     for scope in ("", "PER_ADDRESS_", "PER_ACCOUNT_")}


def ragd_cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragd.cli.main", *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, **backend.store_env_for(data_dir), **(env or {})},
    )


def server_with_admin(data_dir: Path, email: str = "op@example.org", **env: str) -> Server:
    """A started server with authentication on whose administrator is ``email`` (password :data:`PASSWORD`)."""
    s = Server(data_dir, {"RAGD_AUTH__ENABLED": "true", **env}).start()
    res = ragd_cli(s.data_dir, "users", "create-admin", "--email", email, "--password", PASSWORD)
    assert res.returncode == 0, res.stderr
    return s


@dataclass
class Caller:
    name: str
    role: str | None
    tenant: str | None
    email: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    user_id: str = ""


@dataclass
class World:
    server: Server
    http: httpx.Client
    callers: dict[str, Caller]

    def as_(self, name: str) -> dict[str, str]:
        return self.callers[name].headers

    def upload(self, caller: str, text: str | None = None, collection: str | None = None,
               name: str | None = None) -> dict:
        files = [("file", (name or f"{uuid.uuid4().hex[:8]}.txt", (text or f"note {uuid.uuid4().hex}").encode()))]
        data = {"collection": collection} if collection else {}
        r = self.http.post("/api/v1/documents/upload", files=files, data=data, headers=self.as_(caller))
        assert r.status_code == 201, r.text
        return r.json()["documents"][0]


def login(http: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, str]:
    r = http.post("/api/v1/auth/login", json={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def build_world(server: Server) -> World:
    http = server.client()
    callers: dict[str, Caller] = {"anonymous": Caller("anonymous", None, None)}
    for tenant, suffix in (("default", "a"), ("acme", "b")):
        admin = f"admin_{suffix}@example.org"
        res = ragd_cli(server.data_dir, "users", "create-admin", "--email", admin, "--password", PASSWORD,
                       "--tenant", tenant)
        assert res.returncode == 0, res.stderr
        callers[f"admin_{suffix}"] = Caller(f"admin_{suffix}", "admin", tenant, admin, login(http, admin))
        for role in ("user", "viewer", "api_user"):
            email = f"{role}_{suffix}@example.org"
            r = http.post("/api/v1/admin/users", json={"email": email, "password": PASSWORD, "role": role},
                          headers=callers[f"admin_{suffix}"].headers)
            assert r.status_code == 201, r.text
            name = f"{role.replace('api_user', 'api')}_{suffix}"
            if role == "api_user":
                k = http.post("/api/v1/admin/keys", json={"email": email, "name": "matrix"},
                              headers=callers[f"admin_{suffix}"].headers)
                assert k.status_code == 201, k.text
                callers[name] = Caller(name, role, tenant, email, {"X-API-Key": k.json()["key"]})
            else:
                callers[name] = Caller(name, role, tenant, email, login(http, email))
    for c in callers.values():
        if c.role:
            c.user_id = http.get("/api/v1/auth/me", headers=c.headers).json()["user"]["id"]
    return World(server, http, callers)


def serve_world(data_dir: Path, **env: str) -> Iterator[World]:
    """A server with authentication on and high limits (plus ``env``), its callers built; stopped after."""
    server = Server(data_dir, {"RAGD_AUTH__ENABLED": "true", "RAGD_RATELIMIT__PER_MINUTE": HIGH_LIMITS,
                               **HIGH_LOGIN_LIMITS, **env})
    server.start()
    try:
        w = build_world(server)
        yield w
        w.http.close()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from serve_world(tmp_path_factory.mktemp("auth") / "data")
