"""Accounts over HTTP (issue 14): a password change, an admin reset, disabling and a role change end every
session; sessions can be ended on purpose; e-mails of other tenants do not leak; common passwords are refused."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from tests.auth.conftest import World, ragd_cli

STRONG = "quiet otter drafts maple ledger"


def _new_user(world: World, admin: str = "admin_a", role: str = "user") -> tuple[str, str]:
    email = f"s-{uuid.uuid4().hex[:10]}@example.org"
    r = world.http.post("/api/v1/admin/users", json={"email": email, "password": STRONG, "role": role},
                        headers=world.as_(admin))
    assert r.status_code == 201, r.text
    return email, r.json()["id"]


def _session(world: World, email: str, password: str = STRONG) -> dict:
    r = world.http.post("/api/v1/auth/login", json={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def _bearer(session: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


def _dead(world: World, session: dict) -> None:
    """Neither the access token nor the refresh token of ``session`` works any more."""
    me = world.http.get("/api/v1/auth/me", headers=_bearer(session))
    assert me.status_code == 401, me.text
    r = world.http.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 401, r.text


def _alive(world: World, session: dict) -> None:
    assert world.http.get("/api/v1/auth/me", headers=_bearer(session)).status_code == 200


def _audited(world: World, action: str, target: str, admin: str = "admin_a") -> list[dict]:
    r = world.http.get("/api/v1/admin/audit", params={"action": action, "limit": 500}, headers=world.as_(admin))
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if e["target"] == target]


def test_a_password_change_ends_every_session_and_answers_with_a_fresh_one(world: World) -> None:
    email, user_id = _new_user(world)
    laptop, phone = _session(world, email), _session(world, email)
    new = "another calm heron sketches dunes"
    r = world.http.post("/api/v1/auth/password", headers=_bearer(laptop),
                        json={"current_password": STRONG, "new_password": new})
    assert r.status_code == 200, r.text
    fresh = r.json()
    _dead(world, phone)
    _dead(world, laptop)
    _alive(world, fresh)
    assert world.http.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 200
    _session(world, email, new)
    assert [e["details"]["reason"] for e in _audited(world, "auth.sessions_ended", user_id)] == ["password_changed"]


def test_an_admin_reset_disable_and_role_change_end_the_users_sessions(world: World) -> None:
    email, user_id = _new_user(world)
    for patch, reason in (({"password": "fresh violet compass ribbon"}, "password_reset"),
                          ({"role": "viewer"}, "role_changed"),
                          ({"disabled": True}, "disabled")):
        password = "fresh violet compass ribbon" if reason != "password_reset" else STRONG
        session = _session(world, email, password)
        r = world.http.patch(f"/api/v1/admin/users/{user_id}", json=patch, headers=world.as_("admin_a"))
        assert r.status_code == 200, r.text
        _dead(world, session)
    # Enabling the account again does not bring the old sessions back; a new sign-in works.
    before = _session_after_enable(world, email, user_id)
    _alive(world, before)
    reasons = sorted(e["details"]["reason"] for e in _audited(world, "auth.sessions_ended", user_id))
    assert reasons == ["disabled", "password_reset", "role_changed"]


def _session_after_enable(world: World, email: str, user_id: str) -> dict:
    r = world.http.patch(f"/api/v1/admin/users/{user_id}", json={"disabled": False}, headers=world.as_("admin_a"))
    assert r.status_code == 200, r.text
    return _session(world, email, "fresh violet compass ribbon")


def test_disable_then_enable_does_not_revive_a_session(world: World) -> None:
    email, user_id = _new_user(world)
    session = _session(world, email)
    for disabled in (True, False):
        r = world.http.patch(f"/api/v1/admin/users/{user_id}", json={"disabled": disabled},
                             headers=world.as_("admin_a"))
        assert r.status_code == 200, r.text
    _dead(world, session)


def test_sign_out_everywhere(world: World) -> None:
    email, user_id = _new_user(world)
    one, two = _session(world, email), _session(world, email)
    key = world.http.post("/api/v1/keys", json={"name": "cron"}, headers=_bearer(one)).json()
    # An API key cannot end the sessions (keys are revoked one by one).
    r = world.http.delete("/api/v1/auth/sessions", headers={"X-API-Key": key["key"]})
    assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
    assert world.http.delete("/api/v1/auth/sessions", headers=_bearer(one)).status_code == 204
    _dead(world, one)
    _dead(world, two)
    assert world.http.get("/api/v1/auth/me", headers={"X-API-Key": key["key"]}).status_code == 200
    _alive(world, _session(world, email))
    assert _audited(world, "auth.sessions_ended", user_id)


def test_an_admin_ends_a_members_sessions_in_their_tenant_only(world: World) -> None:
    email, user_id = _new_user(world)
    session = _session(world, email)
    path = f"/api/v1/admin/users/{user_id}/sessions"
    assert world.http.delete(path, headers=world.as_("user_a")).status_code == 403
    assert world.http.delete(path, headers=world.as_("admin_b")).status_code == 404  # another tenant's user
    _alive(world, session)
    assert world.http.delete(path, headers=world.as_("admin_a")).status_code == 204
    _dead(world, session)
    assert [e["details"]["reason"] for e in _audited(world, "auth.sessions_ended", user_id)] == ["admin"]


def test_a_tenant_admin_cannot_tell_which_emails_exist_in_another_tenant(world: World) -> None:
    taken_elsewhere, _ = _new_user(world, admin="admin_a")  # a user of tenant default
    answers = {}
    for label, email in (("elsewhere", taken_elsewhere), ("malformed", "not-an-address"),
                         ("elsewhere-upper", taken_elsewhere.upper())):
        r = world.http.post("/api/v1/admin/users", json={"email": email, "password": STRONG},
                            headers=world.as_("admin_b"))
        body = r.json()
        answers[label] = (r.status_code, body["code"], body["detail"].replace(repr(email), "<e-mail>"))
    assert answers["elsewhere"] == answers["malformed"] == answers["elsewhere-upper"], answers
    assert answers["elsewhere"][0] == 400
    # Inside one's own tenant a duplicate is a plain conflict: its admin can list its users anyway.
    own, _ = _new_user(world, admin="admin_b")
    r = world.http.post("/api/v1/admin/users", json={"email": own, "password": STRONG}, headers=world.as_("admin_b"))
    assert r.status_code == 409 and r.json()["code"] == "conflict"


def test_common_passwords_are_refused_everywhere(world: World) -> None:
    email, _ = _new_user(world)
    for weak in ("Password123!", "qwertyuiop", "iloveyou2024", None):
        new_email = f"w-{uuid.uuid4().hex[:8]}@example.org"
        r = world.http.post("/api/v1/admin/users", json={"email": new_email, "password": weak or new_email},
                            headers=world.as_("admin_a"))
        assert r.status_code == 400 and r.json()["code"] == "bad_request", (weak, r.text)
        assert "guess" in r.json()["detail"]
    session = _session(world, email)
    r = world.http.post("/api/v1/auth/password", headers=_bearer(session),
                        json={"current_password": STRONG, "new_password": "1234567890"})
    assert r.status_code == 400 and "guess" in r.json()["detail"], r.text
    _alive(world, session)  # a refused change ends nothing
    res = ragd_cli(world.server.data_dir, "users", "create", "--email", "cli-weak@example.org", "--password",
                   "letmein12345", "--role", "user")
    assert res.returncode == 1 and "guess" in res.stderr, res.stderr


def test_no_session_survives_a_password_change_racing_with_sign_ins_and_refreshes(world: World) -> None:
    """Sign-ins and refreshes in flight while the password changes: none of them may yield a live session."""
    for round_ in range(5):
        _race_once(world, round_)


def _race_once(world: World, round_: int) -> None:
    email, _ = _new_user(world)
    seeds = [_session(world, email) for _ in range(4)]
    stop, flowing = threading.Event(), threading.Event()
    obtained: list[dict] = []
    lock = threading.Lock()

    def keep(session: dict) -> None:
        with lock:
            obtained.append(session)
            if len(obtained) >= 8:
                flowing.set()

    def sign_in() -> None:
        with httpx.Client(base_url=world.server.url, timeout=60) as c:
            while not stop.is_set():
                r = c.post("/api/v1/auth/login", json={"username": email, "password": STRONG})
                if r.status_code == 200:
                    keep(r.json())

    def refresh(session: dict) -> None:
        with httpx.Client(base_url=world.server.url, timeout=60) as c:
            token = session["refresh_token"]
            while not stop.is_set():
                r = c.post("/api/v1/auth/refresh", json={"refresh_token": token})
                if r.status_code != 200:
                    return
                keep(r.json())
                token = r.json()["refresh_token"]

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(sign_in) for _ in range(4)] + [pool.submit(refresh, s) for s in seeds]
        assert flowing.wait(120), "sign-ins and refreshes did not get going"
        # The password changes while sign-ins and refreshes are in flight.
        r = world.http.post("/api/v1/auth/password", headers=_bearer(seeds[0]),
                            json={"current_password": STRONG, "new_password": f"racing heron {round_} paints"})
        stop.set()
        for f in futures:
            f.result()
    assert r.status_code == 200, r.text
    survivors = [s for s in [*seeds, *obtained]
                 if world.http.get("/api/v1/auth/me", headers=_bearer(s)).status_code == 200
                 or world.http.post("/api/v1/auth/refresh",
                                    json={"refresh_token": s["refresh_token"]}).status_code == 200]
    assert survivors == [], f"round {round_}: {len(survivors)} of {len(obtained)} sessions survived"
    _alive(world, r.json())
