"""CORS (server.cors_*, ragd.api.cors), with real preflight requests against real servers: by default no
`Access-Control-*` header at all; with origins configured, those origins get the headers and others none; a wildcard
with credentials is refused at start."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from tests.support import Server

from ragd.config import ServerSettings, Settings

ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.net"


def preflight(client: httpx.Client, origin: str, method: str = "POST",
              headers: str = "authorization,content-type") -> httpx.Response:
    return client.options("/api/v1/query", headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                    "Access-Control-Request-Headers": headers})


def cors_headers(r: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    s = Server(tmp_path_factory.mktemp("cors-default") / "data", {"RAGD_INGEST__WORKERS": "0"}).start()
    with s.client() as c:
        yield c
    s.stop()


@pytest.fixture(scope="module")
def cors_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    # written as operators do: a trailing slash and capitals are normalised to the browser's form of the origin
    env = {"RAGD_INGEST__WORKERS": "0", "RAGD_SERVER__CORS_ORIGINS": json.dumps(["https://App.Example.com/"])}
    s = Server(tmp_path_factory.mktemp("cors") / "data", env).start()
    with s.client() as c:
        yield c
    s.stop()


def test_by_default_no_cors_header_at_all(default_server: httpx.Client) -> None:
    for origin in (ALLOWED, OTHER):
        pre = preflight(default_server, origin)
        assert pre.status_code == 405 and cors_headers(pre) == {}, pre.headers
        simple = default_server.get("/api/v1/health", headers={"Origin": origin})
        assert simple.status_code == 200 and cors_headers(simple) == {}
        posted = default_server.post("/api/v1/query", json={"query": "x"}, headers={"Origin": origin})
        assert cors_headers(posted) == {}


def test_an_allowed_origin_gets_its_preflight_answered(cors_server: httpx.Client) -> None:
    pre = preflight(cors_server, ALLOWED)
    assert pre.status_code == 200
    h = pre.headers
    assert h["access-control-allow-origin"] == ALLOWED
    assert {"GET", "POST", "DELETE"} <= {m.strip() for m in h["access-control-allow-methods"].split(",")}
    allowed = {x.strip().lower() for x in h["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert h["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in h  # off unless asked for
    assert "origin" in h["vary"].lower()
    assert h["x-content-type-options"] == "nosniff"  # the preflight answer carries the security headers too


def test_an_allowed_origin_can_read_responses_and_their_exposed_headers(cors_server: httpx.Client) -> None:
    r = cors_server.post("/api/v1/query", json={"query": "refunds"}, headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower() and r.headers["x-request-id"]
    problem = cors_server.get("/api/v1/documents/d_nothere", headers={"Origin": ALLOWED})
    assert problem.status_code == 404 and problem.headers["access-control-allow-origin"] == ALLOWED


def test_another_origin_gets_no_cors_header(cors_server: httpx.Client) -> None:
    pre = preflight(cors_server, OTHER)
    assert pre.status_code == 400 and "access-control-allow-origin" not in pre.headers
    for r in (cors_server.get("/api/v1/health", headers={"Origin": OTHER}),
              cors_server.post("/api/v1/query", json={"query": "x"}, headers={"Origin": OTHER}),
              cors_server.get("/api/v1/health", headers={"Origin": "null"})):
        assert "access-control-allow-origin" not in r.headers


def test_a_method_or_header_not_allowed_is_refused(cors_server: httpx.Client) -> None:
    assert preflight(cors_server, ALLOWED, method="PROPFIND").status_code == 400
    assert preflight(cors_server, ALLOWED, headers="x-not-allowed").status_code == 400


@pytest.mark.parametrize(("settings", "says"), [
    ({"cors_origins": ["*"], "cors_allow_credentials": True}, "cannot be true with server.cors_origins"),
    ({"cors_origins": ["*", ALLOWED]}, "stands alone"),
    ({"cors_origins": ["null"]}, "sandboxed frames"),
    ({"cors_origins": ["https://*.example.com"]}, "is not an origin"),
    ({"cors_origins": ["https://app.example.com/ui"]}, "is not an origin"),
    ({"cors_origins": ["app.example.com"]}, "is not an origin"),
    ({"cors_origins": ["https://user:pw-secret@app.example.com"]}, "no user name or password"),
    ({"cors_allow_headers": ["Authorization", "bad header"]}, "not an HTTP method or header name"),
])
def test_unsafe_or_meaningless_settings_are_refused(settings: dict, says: str) -> None:
    with pytest.raises(ValidationError, match="server") as err:
        Settings(server=settings)
    assert says in str(err.value) and "pw-secret" not in str(err.value)


def test_origins_are_normalised_to_what_browsers_send() -> None:
    s = ServerSettings(cors_origins=["HTTPS://App.Example.com:443/", "http://localhost:5173", "http://[::1]:80"],
                       cors_allow_methods=["get", "post"])
    assert s.cors_origins == ["https://app.example.com", "http://localhost:5173", "http://[::1]"]
    assert s.cors_allow_methods == ["GET", "POST"]
    assert ServerSettings(cors_origins=["*"]).cors_origins == ["*"]


def test_serve_refuses_a_wildcard_with_credentials(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
           "RAGD_DATA_DIR": str(tmp_path / "data"), "RAGD_SERVER__CORS_ORIGINS": '["*"]',
           "RAGD_SERVER__CORS_ALLOW_CREDENTIALS": "true"}
    res = subprocess.run([sys.executable, "-m", "ragd.cli.main", "serve"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "[configuration_error]" in res.stderr
    assert "cors_allow_credentials cannot be true" in res.stderr and "Traceback" not in res.stderr
