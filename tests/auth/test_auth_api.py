"""Sign-in, tokens, API keys and the CLI, against a real server with authentication on."""

from __future__ import annotations

import httpx
import openai
from tests.auth.conftest import PASSWORD, World, login, ragd_cli


def test_login_returns_a_bearer_token_and_me_tells_who(world: World) -> None:
    r = world.http.post("/api/v1/auth/login", json={"username": "user_a@example.org", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"] and body["refresh_token"]
    assert body["expires_in"] == 15 * 60
    me = world.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["auth_enabled"] is True
    assert me["user"]["email"] == "user_a@example.org" and me["user"]["role"] == "user"
    assert me["user"]["tenant"] == "default"


def test_wrong_password_and_unknown_user_look_the_same(world: World) -> None:
    for username in ("user_a@example.org", "nobody@example.org"):
        r = world.http.post("/api/v1/auth/login", json={"username": username, "password": "wrong password"})
        assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_missing_bad_and_forged_credentials_are_401(world: World) -> None:
    assert world.http.get("/api/v1/documents").json()["code"] == "unauthorized"
    for headers in ({"Authorization": "Bearer not-a-token"}, {"X-API-Key": "ragd_deadbeef_" + "x" * 32},
                    {"Authorization": "Basic dXNlcjpwYXNz"}):
        r = world.http.get("/api/v1/documents", headers=headers)
        assert r.status_code == 401, (headers, r.text)
    # A token signed with another secret is refused.
    import jwt

    forged = jwt.encode({"sub": world.callers["admin_a"].user_id, "tid": "default", "exp": 2**40, "iat": 0,
                         "iss": "ragd"}, "another-secret-of-enough-length-0123456789", algorithm="HS256")
    assert world.http.get("/api/v1/documents", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(world: World) -> None:
    first = world.http.post("/api/v1/auth/login", json={"username": "viewer_a@example.org", "password": PASSWORD})
    token = first.json()["refresh_token"]
    second = world.http.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert second.status_code == 200 and second.json()["refresh_token"] != token
    replay = world.http.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert replay.status_code == 401
    # The replay revoked the whole family, including the token issued by the legitimate refresh.
    assert world.http.post("/api/v1/auth/refresh",
                           json={"refresh_token": second.json()["refresh_token"]}).status_code == 401


def test_logout_revokes_the_refresh_token(world: World) -> None:
    s = world.http.post("/api/v1/auth/login", json={"username": "viewer_a@example.org", "password": PASSWORD}).json()
    assert world.http.post("/api/v1/auth/logout", json={"refresh_token": s["refresh_token"]}).status_code == 204
    assert world.http.post("/api/v1/auth/refresh", json={"refresh_token": s["refresh_token"]}).status_code == 401


def test_api_key_lifecycle_shown_once_hashed_revocable(world: World) -> None:
    h = world.as_("user_a")
    r = world.http.post("/api/v1/keys", json={"name": "laptop", "role": "viewer"}, headers=h)
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith(created["prefix"] + "_") and created["role"] == "viewer"
    listed = world.http.get("/api/v1/keys", headers=h).json()["keys"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "key" not in mine and mine["prefix"] == created["prefix"]
    assert key not in world.http.get("/api/v1/keys", headers=h).text
    # The key works (as a viewer: it reads, it cannot upload), in both headers.
    assert world.http.get("/api/v1/documents", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    up = world.http.post("/api/v1/documents/upload", files=[("file", ("x.txt", b"hello there"))],
                         headers={"X-API-Key": key})
    assert up.status_code == 403 and up.json()["code"] == "forbidden"
    last_used = next(k for k in world.http.get("/api/v1/keys", headers=h).json()["keys"] if k["id"] == created["id"])
    assert last_used["last_used_at"] is not None
    assert world.http.delete(f"/api/v1/keys/{created['id']}", headers=h).status_code == 204
    assert world.http.get("/api/v1/documents", headers={"X-API-Key": key}).status_code == 401


def test_a_key_cannot_outrank_its_owner_and_scopes_restrict_it(world: World) -> None:
    h = world.as_("user_a")
    assert world.http.post("/api/v1/keys", json={"role": "admin"}, headers=h).status_code == 403
    r = world.http.post("/api/v1/keys", json={"scopes": ["documents:read"]}, headers=h)
    assert r.status_code == 201
    key = {"X-API-Key": r.json()["key"]}
    assert world.http.get("/api/v1/documents", headers=key).status_code == 200
    assert world.http.post("/api/v1/query", json={"query": "anything"}, headers=key).status_code == 403
    bad = world.http.post("/api/v1/keys", json={"scopes": ["everything"]}, headers=h)
    assert bad.status_code == 400


def test_expired_keys_stop_working(world: World) -> None:
    res = ragd_cli(world.server.data_dir, "keys", "create", "--email", "user_a@example.org", "--expires", "0.00001")
    assert res.returncode == 0, res.stderr
    key = res.stdout.strip()
    import time

    time.sleep(1.2)
    r = world.http.get("/api/v1/documents", headers={"X-API-Key": key})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_disabled_user_is_locked_out_at_once(world: World) -> None:
    admin = world.as_("admin_a")
    r = world.http.post("/api/v1/admin/users", json={"email": "leaver@example.org", "password": PASSWORD,
                                                     "role": "user"}, headers=admin)
    uid = r.json()["id"]
    h = login(world.http, "leaver@example.org")
    key = world.http.post("/api/v1/keys", json={}, headers=h).json()["key"]
    assert world.http.patch(f"/api/v1/admin/users/{uid}", json={"disabled": True}, headers=admin).status_code == 200
    assert world.http.get("/api/v1/documents", headers=h).status_code == 401
    assert world.http.get("/api/v1/documents", headers={"X-API-Key": key}).status_code == 401
    r = world.http.post("/api/v1/auth/login", json={"username": "leaver@example.org", "password": PASSWORD})
    assert r.status_code == 401


def test_a_demotion_applies_to_live_tokens(world: World) -> None:
    admin = world.as_("admin_a")
    uid = world.http.post("/api/v1/admin/users", json={"email": "demoted@example.org", "password": PASSWORD,
                                                       "role": "user"}, headers=admin).json()["id"]
    h = login(world.http, "demoted@example.org")
    world.http.patch(f"/api/v1/admin/users/{uid}", json={"role": "viewer"}, headers=admin)
    # A role change ends the user's sessions: the live token is refused, and a new one acts as a viewer.
    up = world.http.post("/api/v1/documents/upload", files=[("file", ("d.txt", b"some words here"))], headers=h)
    assert up.status_code == 401
    h = login(world.http, "demoted@example.org")
    up = world.http.post("/api/v1/documents/upload", files=[("file", ("d.txt", b"some words here"))], headers=h)
    assert up.status_code == 403


def test_bad_user_input_is_a_clear_4xx(world: World) -> None:
    admin = world.as_("admin_a")
    cases = [
        {"email": "not-an-email", "password": PASSWORD, "role": "user"},
        {"email": "short@example.org", "password": "short", "role": "user"},
        {"email": "role@example.org", "password": PASSWORD, "role": "superuser"},
    ]
    for body in cases:
        r = world.http.post("/api/v1/admin/users", json=body, headers=admin)
        assert r.status_code == 400, r.text
    dup = world.http.post("/api/v1/admin/users", json={"email": "USER_A@example.org", "password": PASSWORD,
                                                       "role": "user"}, headers=admin)
    assert dup.status_code == 409
    me = world.callers["admin_a"].user_id
    assert world.http.patch(f"/api/v1/admin/users/{me}", json={"disabled": True}, headers=admin).status_code == 403


def test_openai_endpoint_takes_ragd_keys(world: World) -> None:
    key = world.http.post("/api/v1/keys", json={}, headers=world.as_("user_a")).json()["key"]
    client = openai.OpenAI(base_url=world.server.url + "/v1", api_key=key, max_retries=0)
    assert [m.id for m in client.models.list()] == ["ragd"]
    bad = openai.OpenAI(base_url=world.server.url + "/v1", api_key="ragd_00000000_" + "y" * 30, max_retries=0)
    try:
        bad.models.list()
    except openai.AuthenticationError:
        pass
    else:
        raise AssertionError("an unknown key was accepted")


def test_cli_users_and_keys(world: World) -> None:
    d = world.server.data_dir
    assert ragd_cli(d, "users", "create", "--email", "cli@example.org", "--password", PASSWORD, "--role", "viewer",
                    "--tenant", "acme").returncode == 0
    listed = ragd_cli(d, "users", "list", "--tenant", "acme", "--json")
    assert listed.returncode == 0 and "cli@example.org" in listed.stdout
    bad = ragd_cli(d, "users", "create", "--email", "x@example.org", "--password", "short", "--role", "user")
    assert bad.returncode == 1 and "password" in bad.stderr
    created = ragd_cli(d, "keys", "create", "--email", "cli@example.org", "--role", "viewer")
    assert created.returncode == 0
    key = created.stdout.strip()
    assert world.http.get("/api/v1/auth/me", headers={"X-API-Key": key}).json()["user"]["tenant"] == "acme"
    keys = ragd_cli(d, "keys", "list", "--email", "cli@example.org", "--json")
    assert key not in keys.stdout and key.split("_")[1] in keys.stdout
    prefix = "ragd_" + key.split("_")[1]
    assert ragd_cli(d, "keys", "revoke", prefix).returncode == 0
    assert world.http.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401
    assert ragd_cli(d, "users", "disable", "--email", "cli@example.org").returncode == 0
    r = world.http.post("/api/v1/auth/login", json={"username": "cli@example.org", "password": PASSWORD})
    assert r.status_code == 401
    missing = ragd_cli(d, "users", "disable", "--email", "ghost@example.org")
    assert missing.returncode == 1 and "user_not_found" in missing.stderr


def test_server_warns_loudly_when_auth_is_off(tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]
    s = server_factory(tmp_path / "open").start()
    assert httpx.get(s.url + "/api/v1/auth/me").json()["auth_enabled"] is False
    s.stop()
    log = next(tmp_path.glob(f"server-{s.port}.log")).read_text()
    assert "authentication is OFF" in log


def test_first_start_creates_an_admin_whose_password_is_in_a_private_file(tmp_path, server_factory) -> None:  # type: ignore[no-untyped-def]
    s = server_factory(tmp_path / "fresh", RAGD_AUTH__ENABLED="true").start()
    secret = s.data_dir / "initial-admin-password"
    assert secret.stat().st_mode & 0o777 == 0o600
    password = secret.read_text().strip()
    with s.client() as c:
        h = login(c, "admin@localhost", password)
        assert c.get("/api/v1/admin/users", headers=h).json()["total"] == 1
        bad = c.post("/api/v1/auth/password", json={"current_password": "nope", "new_password": PASSWORD},
                     headers=h)
        assert bad.status_code == 401
        ok = c.post("/api/v1/auth/password", json={"current_password": password, "new_password": PASSWORD},
                    headers=h)
        assert ok.status_code == 200 and not secret.exists()
        assert c.get("/api/v1/auth/me", headers=h).status_code == 401  # the old session ended with the change
        fresh = {"Authorization": f"Bearer {ok.json()['access_token']}"}
        assert c.get("/api/v1/auth/me", headers=fresh).status_code == 200
        login(c, "admin@localhost", PASSWORD)
    s.stop()
    log = next(tmp_path.glob(f"server-{s.port}.log")).read_text()
    assert password not in log and "initial-admin-password" in log
