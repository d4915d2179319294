"""Schemathesis fuzzes every operation of the OpenAPI document against a real `ragd serve` (issue 14).

The server runs with authentication on; the fuzzer calls as an administrator of the operator tenant through an
API key, so every authenticated route is exercised past its credentials check, and documents (a text file and a
PDF) are indexed so that ids exist. The bar: no 5xx, every status code and content type documented, every body
conforming to its schema, requests the schema forbids refused, and no route that declares a security scheme
answering without credentials.

Bounded and reproducible: 40 examples per operation (plus schemathesis's boundary-value coverage phase),
derandomised generation (the same inputs on every run), no shrinking (a failure is reported as found), a request
timeout and a per-operation test timeout. About 2-3 minutes for the ~50 operations on a busy 2-core machine.

Excluded operations, and why:
* ``POST /api/v1/auth/login``, ``/auth/refresh``, ``/auth/logout``: sign-in throttling is per account and per
  client address; hundreds of bad attempts from 127.0.0.1 would throttle the very client the other tests of
  the suite use (their own tests in tests/auth cover every error).
* ``POST /api/v1/admin/backup``: each call archives the whole data directory (seconds of disk work per example);
  tests/ops cover it.
And one check left out on one operation: schema-violating data on the multipart upload (see the configuration).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from tests.auth.conftest import HIGH_LIMITS, PASSWORD, login, ragd_cli
from tests.support import FIXTURES, Server

from ragd.api.app import create_app
from ragd.config import Settings

ADMIN = "fuzz-admin@example.org"
EXCLUDED_PATHS = ["/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/admin/backup"]
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "negative_data_rejection",
          "ignored_auth"]


@dataclass
class Target:
    server: Server
    headers: dict[str, str]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server = Server(tmp_path_factory.mktemp("fuzz") / "data", {
        "RAGD_AUTH__ENABLED": "true", "RAGD_RATELIMIT__PER_MINUTE": HIGH_LIMITS,
        "RAGD_AUTH__LOGIN_ATTEMPTS_PER_MINUTE": "100000"})
    server.start()
    try:
        res = ragd_cli(server.data_dir, "users", "create-admin", "--email", ADMIN, "--password", PASSWORD)
        assert res.returncode == 0, res.stderr
        with server.client() as http:
            token = login(http, ADMIN)
            key = http.post("/api/v1/keys", json={"name": "fuzz", "role": "admin"}, headers=token)
            assert key.status_code == 201, key.text
            headers = {"X-API-Key": key.json()["key"]}
            files = [("file", ("notes.txt", b"Refunds are paid within 14 days. Call +33 6 12 34 56 78.")),
                     ("file", ("multi_page.pdf", (FIXTURES / "pdf" / "multi_page.pdf").read_bytes()))]
            up = http.post("/api/v1/documents/upload", files=files, data={"metadata": '{"team": "legal"}'},
                           headers=headers)
            assert up.status_code == 201, up.text
            ids = [d["id"] for d in up.json()["documents"]]
            docs = server.wait_done(http, ids, timeout=300, headers=headers)
            assert all(d["status"] == "indexed" for d in docs.values()), docs
            ask = http.post("/api/v1/query", json={"query": "refunds"}, headers=headers)
            assert ask.status_code == 200, ask.text
        yield Target(server, headers)
    finally:
        server.stop()


def _document() -> dict:
    """The OpenAPI document, built from the application code (the test checks the server serves the same)."""
    return create_app(Settings()).openapi()


def _schema() -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict({
        "request-timeout": 60,
        "suppress-health-check": ["all"],
        "generation": {"max-examples": 40, "deterministic": True, "no-shrink": True, "allow-x00": False,
                       "with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        # A multipart body has no types: every part is text, so "metadata as an object" arrives as the JSON text of
        # an object, which is what the field asks for. What the server can check there (the collection pattern,
        # lengths, metadata depth) is in tests/api/test_validation_api.py.
        "operations": [{"include-path": "/api/v1/documents/upload",
                        "checks": {"negative_data_rejection": {"enabled": False}}}],
    })
    return schemathesis.openapi.from_dict(_document(), config=config)


# Built at import time (pytest's parametrisation needs the operations before any server runs); the served
# document is compared with it below.
schema = _schema()


def test_the_server_serves_the_fuzzed_document(target: Target) -> None:
    with target.server.client() as http:
        assert http.get("/openapi.json").json() == _document()


@pytest.mark.timeout(240)  # per operation: 40 examples plus the coverage phase take seconds, not minutes
@schema.exclude(path=EXCLUDED_PATHS).parametrize()
def test_every_operation_survives_the_fuzzer(case: schemathesis.Case, target: Target) -> None:
    case.call_and_validate(base_url=target.server.url, headers=target.headers)
