"""Request bodies at the HTTP edge (ragd.api.limits), over a real `ragd serve` with authentication on.

An anonymous caller is refused before its body is read; every body is capped by its route's class (JSON routes
by limits.max_json_mb, uploads by limits.max_upload_request_mb), at once by Content-Length, else as it streams;
and the server's memory stays flat while it refuses 300 MB bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from tests.api.memory import MIB, RSS_GROWTH_BOUND, reset_peak, vm
from tests.api.rawhttp import RawResponse, request, zeros
from tests.auth.conftest import login, server_with_admin
from tests.support import Server

BIG = 300 * 1000 * 1000  # the attack of issue 14: a 300 MB JSON body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = server_with_admin(tmp_path_factory.mktemp("limits") / "data", "ops@example.org", RAGD_INGEST__WORKERS="0")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def auth(server: Server) -> dict[str, str]:
    with server.client() as c:
        return login(c, "ops@example.org")


def post(server: Server, path: str, total: int, headers: dict[str, str] | None = None, *,
         chunked: bool = False) -> RawResponse:
    h = {"Content-Type": "application/json", **(headers or {})}
    if not chunked:
        h["Content-Length"] = str(total)
    return request(server.port, "POST", path, h, zeros(total), chunked=chunked)


def assert_problem(r: RawResponse, status: int, code: str) -> dict:
    assert r.status, (r.status, r.body[:300])
    assert r.status == status, (r.status, r.body[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    body = json.loads(r.body)
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


def test_an_anonymous_body_is_refused_before_it_is_read(server: Server) -> None:
    for chunked in (False, True):
        r = post(server, "/api/v1/query", BIG, chunked=chunked)
        assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.sent < 64 * MIB, f"the server took {r.sent} bytes before its 401"


def test_a_json_body_over_the_cap_is_413_at_once_by_content_length(server: Server, auth: dict[str, str]) -> None:
    r = post(server, "/api/v1/query", BIG, auth)
    body = assert_problem(r, 413, "payload_too_large")
    assert "RAGD_LIMITS__MAX_JSON_MB" in body["detail"]
    assert r.sent < 64 * MIB


def test_a_chunked_json_body_is_counted_and_cut_at_the_cap(server: Server, auth: dict[str, str]) -> None:
    r = post(server, "/api/v1/query", BIG, auth, chunked=True)
    assert_problem(r, 413, "payload_too_large")
    assert r.sent < 64 * MIB


def test_bodies_under_the_cap_and_public_routes_behave_as_before(server: Server, auth: dict[str, str]) -> None:
    with server.client() as c:
        r = c.post("/api/v1/query", json={"query": "x" * 5000}, headers=auth)  # under 1 MiB: the schema says no
        assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
        r = c.post("/api/v1/query", json={"query": "anything", "answer": False}, headers=auth)
        assert r.status_code == 200, r.text
        # sign-in needs no credentials: its body is read (and capped), not refused as anonymous
        r = c.post("/api/v1/auth/login", json={"username": "nobody@example.org", "password": "wrong password"})
        assert r.status_code == 401 and r.json()["code"] == "invalid_credentials", r.text
        r = c.post("/api/v1/auth/login", content=b" " * (2 * MIB), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == "payload_too_large", r.text
        # an upload may be larger than a JSON body
        r = c.post("/api/v1/documents/upload", files={"file": ("big.txt", b"word " * (MIB // 2))}, headers=auth)
        assert r.status_code == 201, r.text
    # credentials that do not authenticate: the body is read up to the cap only, then 401
    body = json.dumps({"query": "x" * 3000}).encode()
    r = request(server.port, "POST", "/api/v1/query", {"Authorization": "Bearer not-a-token", "Content-Length":
                str(len(body)), "Content-Type": "application/json"}, [body])
    assert_problem(r, 401, "unauthorized")


def test_memory_stays_flat_while_300_mb_bodies_are_refused(server: Server, auth: dict[str, str]) -> None:
    assert server.proc is not None
    with server.client() as c:  # warm up every code path once, so first-use allocations are not counted
        c.post("/api/v1/query", json={"query": "warm up", "answer": False}, headers=auth)
    post(server, "/api/v1/query", 2 * MIB, auth, chunked=True)
    before = reset_peak(server.proc.pid)
    answers = [post(server, "/api/v1/query", BIG, headers, chunked=chunked)
               for headers in ({}, auth) for chunked in (False, True)]
    peak = vm(server.proc.pid, "VmHWM")
    assert peak - before < RSS_GROWTH_BOUND, f"RSS peaked {(peak - before) / MIB:.0f} MiB above where it was"
    assert [r.status for r in answers] == [401, 401, 413, 413]
    assert all(r.sent < 64 * MIB for r in answers)
    with httpx.Client(base_url=server.url, timeout=30) as c:  # and the server still answers
        assert c.get("/api/v1/health").status_code == 200
