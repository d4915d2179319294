"""Sign-in throttling against a real server (issue 14, finding 9): a budget per client address (password
spraying), a back-off per address and account (nobody elsewhere can lock the owner out), a ceiling per account;
X-Forwarded-For is believed only from ``server.trusted_proxies``.

Clients bind distinct loopback source addresses (127.0.0.2, 127.0.0.3, ...) to be distinct callers.
"""

from __future__ import annotations

import uuid

import httpx
from tests.auth.conftest import ragd_cli
from tests.support import Server

OWNER, PASSWORD = "owner@example.org", "quiet otter drafts maple ledger"
ADMIN = "boss@example.org"


def _from(server: Server, source: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60, transport=httpx.HTTPTransport(local_address=source))


def _login(c: httpx.Client, email: str, password: str = "wrong guess 1234", **headers: str) -> httpx.Response:
    return c.post("/api/v1/auth/login", json={"username": email, "password": password}, headers=headers)


def _start(server_factory, **env: str) -> Server:  # type: ignore[no-untyped-def]
    s: Server = server_factory(RAGD_AUTH__ENABLED="true", **env).start()
    for args in (("users", "create-admin", "--email", ADMIN, "--password", PASSWORD),
                 ("users", "create", "--email", OWNER, "--password", PASSWORD, "--role", "user")):
        res = ragd_cli(s.data_dir, *args)
        assert res.returncode == 0, res.stderr
    return s


def _audit(s: Server, action: str) -> list[dict]:
    with _from(s, "127.0.0.1") as c:
        token = _login(c, ADMIN, PASSWORD).json()["access_token"]
        r = c.get("/api/v1/admin/audit", params={"action": action}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_spraying_from_one_address_is_throttled_and_forwarded_headers_are_not_believed(server_factory) -> None:  # type: ignore[no-untyped-def]
    s = _start(server_factory, RAGD_AUTH__LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE="5",
               RAGD_AUTH__LOGIN_ATTEMPTS_PER_MINUTE="3")
    with _from(s, "127.0.0.2") as sprayer:
        for _ in range(5):  # one guess on each of five accounts
            assert _login(sprayer, f"{uuid.uuid4().hex[:8]}@example.org").status_code == 401
        refused = _login(sprayer, OWNER)
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited", refused.text
        assert "address" in refused.json()["detail"] and int(refused.headers["Retry-After"]) >= 1
        # A forged X-Forwarded-For does not buy a new budget: no proxy is trusted by default.
        forged = _login(sprayer, f"{uuid.uuid4().hex[:8]}@example.org", **{"X-Forwarded-For": "198.51.100.7"})
        assert forged.status_code == 429, forged.text
    with _from(s, "127.0.0.4") as elsewhere:  # another address has its own budget
        assert _login(elsewhere, OWNER, PASSWORD).status_code == 200
    throttled = [e for e in _audit(s, "auth.login_throttled") if e["details"]["client"] == "127.0.0.2"]
    assert len(throttled) == 1, throttled  # two refusals, one entry a minute per address


def test_a_guesser_elsewhere_cannot_lock_the_owner_out(server_factory) -> None:  # type: ignore[no-untyped-def]
    s = _start(server_factory, RAGD_AUTH__LOGIN_ATTEMPTS_PER_MINUTE="3",
               RAGD_AUTH__LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE="7")
    with _from(s, "127.0.0.3") as guesser:
        assert [_login(guesser, OWNER).status_code for _ in range(3)] == [401, 401, 401]
        backed_off = _login(guesser, OWNER, PASSWORD)  # even the right password waits, from this address
        assert backed_off.status_code == 429 and "this account from this address" in backed_off.json()["detail"]
    with _from(s, "127.0.0.1") as owner:
        assert _login(owner, OWNER, PASSWORD).status_code == 200  # the owner, elsewhere, signs in
    # The ceiling per account: only many addresses together reach it (7 here, 3 per address).
    with _from(s, "127.0.0.5") as second:
        assert [_login(second, OWNER).status_code for _ in range(3)] == [401, 401, 401]
    with _from(s, "127.0.0.6") as third:
        ceiling = _login(third, OWNER)
        assert ceiling.status_code == 429 and ceiling.json()["detail"].startswith(
            "too many sign-in attempts for this account ("), ceiling.text


def test_forwarded_addresses_are_believed_from_a_trusted_proxy_only(server_factory) -> None:  # type: ignore[no-untyped-def]
    s = _start(server_factory, RAGD_SERVER__TRUSTED_PROXIES='["127.0.0.1"]',
               RAGD_AUTH__LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE="2")
    with _from(s, "127.0.0.1") as proxy:
        first = {"X-Forwarded-For": "198.51.100.7"}
        assert [_login(proxy, OWNER, **first).status_code for _ in range(2)] == [401, 401]
        assert _login(proxy, OWNER, **first).status_code == 429
        assert _login(proxy, OWNER, **{"X-Forwarded-For": "198.51.100.8"}).status_code == 401
    with _from(s, "127.0.0.2") as untrusted:  # not a trusted proxy: its header is ignored, its address counts
        assert [_login(untrusted, OWNER, **first).status_code for _ in range(2)] == [401, 401]
        assert _login(untrusted, OWNER, **{"X-Forwarded-For": "198.51.100.9"}).status_code == 429
