"""Rate limits over HTTP: a burst gets 429 with Retry-After, and the limit holds across server worker processes."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.auth.conftest import PASSWORD, login, ragd_cli
from tests.support import Server


def test_burst_over_two_worker_processes(server_factory) -> None:  # type: ignore[no-untyped-def]
    s: Server = server_factory(RAGD_AUTH__ENABLED="true", RAGD_SERVER__WORKERS="2",
                               RAGD_RATELIMIT__PER_MINUTE__USER="6",
                               RAGD_RATELIMIT__UPLOAD_MB_PER_HOUR__USER="0.01").start()
    assert ragd_cli(s.data_dir, "users", "create", "--email", "burst@example.org", "--password", PASSWORD,
                    "--role", "user").returncode == 0
    with s.client() as c:
        headers = login(c, "burst@example.org")
    statuses, retry_after = [], []
    for _ in range(20):
        with httpx.Client(base_url=s.url, timeout=30) as fresh:  # a new connection each time: both workers serve
            r = fresh.get("/api/v1/documents", headers=headers)
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.json()["code"] == "rate_limited"
            retry_after.append(int(r.headers["Retry-After"]))
    assert statuses.count(200) == 6 and statuses.count(429) == 14, statuses
    assert all(1 <= v <= 60 for v in retry_after)
    # Another identity has its own budget.
    with s.client() as c:
        assert c.get("/api/v1/health").status_code == 200
    s.stop()
    log = next(s.data_dir.parent.glob(f"server-{s.port}.log")).read_text()
    assert len(set(re.findall(r"Started server process \[(\d+)\]", log))) == 2


def test_upload_volume_is_bounded(server_factory) -> None:  # type: ignore[no-untyped-def]
    s: Server = server_factory(RAGD_AUTH__ENABLED="true", RAGD_RATELIMIT__UPLOAD_MB_PER_HOUR__USER="0.01").start()
    assert ragd_cli(s.data_dir, "users", "create", "--email", "up@example.org", "--password", PASSWORD,
                    "--role", "user").returncode == 0
    with s.client() as c:
        h = login(c, "up@example.org")
        body = ("word " * 1200).encode()  # 6 KB of a 10 KB hourly budget
        first = c.post("/api/v1/documents/upload", files=[("file", ("a.txt", body))], headers=h)
        assert first.status_code == 201, first.text
        second = c.post("/api/v1/documents/upload", files=[("file", ("b.txt", body + b"x"))], headers=h)
        assert second.status_code == 429 and int(second.headers["Retry-After"]) >= 1
        assert c.get("/api/v1/documents", headers=h).json()["total"] == 1  # nothing stored by the refused one


@pytest.mark.parametrize("url", ["", "redis://127.0.0.1:6379/0"], ids=["sqlite", "redis"])
def test_five_keys_of_one_user_share_one_budget(server_factory, url: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 14, finding 10: minting keys does not multiply a budget; the budget belongs to the user."""
    s: Server = server_factory(RAGD_AUTH__ENABLED="true", RAGD_RATELIMIT__URL=url,
                               RAGD_RATELIMIT__PER_MINUTE__API_USER="10").start()
    assert ragd_cli(s.data_dir, "users", "create", "--email", "many@example.org", "--password", PASSWORD,
                    "--role", "user").returncode == 0
    keys = []
    for _ in range(5):
        res = ragd_cli(s.data_dir, "keys", "create", "--email", "many@example.org", "--role", "api_user")
        assert res.returncode == 0, res.stderr
        keys.append(res.stdout.strip())
    statuses = []
    with s.client() as c:
        for _ in range(4):
            for key in keys:
                statuses.append(c.get("/api/v1/documents", headers={"X-API-Key": key}).status_code)
    assert statuses.count(200) == 10 and statuses.count(429) == 10, statuses
