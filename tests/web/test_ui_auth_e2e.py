"""The web UI with authentication on: sign-in, roles, API keys, the audit log — Chromium against `ragd serve`.

Users come from the CLI (`ragd users create-admin`, `ragd users create`), as an operator would make them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.support import Server
from tests.web.conftest import Session, ragd_cli, shot

ADMIN, USER, PASSWORD = "admin@example.org", "user@example.org", "correct horse battery"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data: Path = tmp_path_factory.mktemp("web-auth") / "data"
    ragd_cli(data, "users", "create-admin", "--email", ADMIN, "--password", PASSWORD)
    ragd_cli(data, "users", "create", "--email", USER, "--password", PASSWORD, "--role", "user")
    s = Server(data, {"RAGD_AUTH__ENABLED": "true"}).start()
    yield s
    s.stop()


def sign_in(s: Session, email: str, password: str = PASSWORD) -> Page:
    page = s.open()
    page.fill("#signin-email", email)
    page.fill("#signin-password", password)
    page.click("#signin-submit")
    return page


def test_sign_in_as_admin(browser: Browser, auth_server: Server) -> None:
    s = Session(browser, auth_server.url)
    try:
        page = s.open()
        expect(page.locator("#signin-email")).to_be_focused()
        expect(page.locator("[data-nav]")).to_have_count(0)
        shot(page, "signin")
        sign_in(s, ADMIN, "wrong password!")
        expect(page.get_by_test_id("signin-error")).to_have_text("Wrong e-mail or password.")
        page = sign_in(s, ADMIN)
        who = page.get_by_test_id("who")
        expect(who).to_contain_text(ADMIN)
        expect(who).to_contain_text("Administrator · tenant default")
        page.locator("[data-nav=admin]").click()
        users = page.locator("[data-testid=users]")
        expect(users).to_contain_text(USER)
        expect(users).to_contain_text(ADMIN)
        shot(page, "admin")

        page.locator("[data-tab=keys]").click()
        page.get_by_label("Name", exact=True).fill("ci-robot")
        page.get_by_role("button", name="Create a key").click()
        secret = page.get_by_test_id("new-key").inner_text().strip()
        assert secret.startswith("ragd_")
        shot(page, "admin-keys")
        with httpx.Client(base_url=auth_server.url) as c:
            assert c.get("/api/v1/documents", headers={"X-API-Key": secret}).status_code == 200
            page.reload()
            page.wait_for_selector("html[data-ready]")
            keys = page.locator("[data-testid=keys]")
            expect(keys).to_contain_text("ci-robot")
            assert secret not in page.content()  # shown once only
            keys.get_by_role("button", name="Revoke the key ci-robot").click()
            expect(keys).to_contain_text("revoked")
            assert c.get("/api/v1/documents", headers={"X-API-Key": secret}).status_code == 401

        page.locator("[data-tab=audit]").click()
        audit = page.locator("[data-testid=audit]")
        expect(audit).to_contain_text("key.revoked")
        page.fill("#audit-action", "auth.*")
        page.get_by_role("button", name="Filter").click()
        expect(audit).to_contain_text("auth.login")
        expect(audit).not_to_contain_text("key.revoked")
        page.get_by_role("button", name="Verify the chain").click()
        expect(page.get_by_test_id("audit-verdict")).to_contain_text("Chain intact")
        shot(page, "admin-audit")

        page.click("#signout")
        expect(page.locator("#signin-email")).to_be_visible()
        page.reload()
        expect(page.locator("#signin-email")).to_be_visible()  # the session is gone, not just hidden
    finally:
        s.close()


def test_non_admin_cannot_reach_admin(browser: Browser, auth_server: Server) -> None:
    s = Session(browser, auth_server.url)
    try:
        page = sign_in(s, USER)
        expect(page.get_by_test_id("who")).to_contain_text("User · tenant default")
        expect(page.locator("[data-nav=ask]")).to_be_visible()
        expect(page.locator("[data-nav=admin]")).to_have_count(0)
        page.goto(f"{auth_server.url}/#/admin/users")
        expect(page.get_by_test_id("forbidden")).to_be_visible()
        expect(page.locator("[data-testid=users]")).to_have_count(0)
    finally:
        s.close()
    with httpx.Client(base_url=auth_server.url) as c:
        token = c.post("/api/v1/auth/login", json={"username": USER, "password": PASSWORD}).json()["access_token"]
        for path in ("/api/v1/admin/users", "/api/v1/admin/stats", "/api/v1/admin/keys"):
            r = c.get(path, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403 and r.json()["code"] == "forbidden", (path, r.text)
