"""Fixtures for the web UI tests: Debian's Chromium driven by Playwright, and ragd servers to point it at."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from tests import backend
from tests.support import FIXTURES, Server

CHROMIUM = "/usr/bin/chromium"  # `playwright install` cannot download browsers here; scripts/system-deps.sh
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "ui"
PDF = FIXTURES / "pdf" / "multi_page.pdf"  # 5 pages; LaTeX and academics are on page 3
QUESTION = "Which tool gained popularity among academics for mathematical equations?"
ANSWER_PAGE = 3


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run scripts/system-deps.sh (Debian package chromium)"
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


class Session:
    """A browser context + page; an uncaught script error or a console error (CSP violations included) fails the
    test when the session closes."""

    def __init__(self, browser: Browser, base: str, **options: object) -> None:
        defaults: dict[str, object] = {"viewport": {"width": 1280, "height": 800}, "locale": "en-US",
                                       "color_scheme": "light"}
        self.context: BrowserContext = browser.new_context(**{**defaults, **options})
        self.page: Page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", self._console)
        self.page.on("dialog", lambda d: d.accept())  # confirm() before deleting

    def _console(self, msg: object) -> None:
        """Console errors fail the test (a CSP violation is one), except the browser's note on HTTP errors the UI
        handles (a wrong password's 401)."""
        text = msg.text  # type: ignore[attr-defined]
        if msg.type == "error" and not text.startswith("Failed to load resource"):  # type: ignore[attr-defined]
            self.errors.append(text)

    def open(self, route: str = "") -> Page:
        self.page.goto(f"{self.base}/{route}")
        self.page.wait_for_selector("html[data-ready]")
        return self.page

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


def shot(page: object, name: str) -> None:
    """Take a screenshot. It goes into docs/ui/ (the documentation shows these) when missing there or when
    RAGD_UPDATE_SCREENSHOTS=1; otherwise into a scratch directory, so a test run leaves the tree clean."""
    target = SCREENSHOTS / f"{name}.png"
    if target.exists() and os.environ.get("RAGD_UPDATE_SCREENSHOTS") != "1":
        target = Path(tempfile.gettempdir()) / "ragd-ui-screenshots" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))  # type: ignore[attr-defined]


def ragd_cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
    """Run the ragd CLI on a data directory (e.g. ``users create-admin``); fails the test on error."""
    full = {**os.environ, **backend.store_env_for(data_dir), **(env or {}), "RAGD_DATA_DIR": str(data_dir)}
    proc = subprocess.run([sys.executable, "-m", "ragd.cli.main", *args], env=full, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def upload_pdf(client: httpx.Client, server: Server, path: Path = PDF, name: str | None = None) -> dict:
    """Upload a file through the API and wait until it is indexed; returns the document."""
    r = client.post("/api/v1/documents/upload", files=[("file", (name or path.name, path.read_bytes()))])
    assert r.status_code == 201, r.text
    doc_id = r.json()["documents"][0]["id"]
    doc = server.wait_done(client, [doc_id])[doc_id]
    assert doc["status"] == "indexed", doc
    return doc


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with authentication off (every request is the local administrator)."""
    s = Server(tmp_path_factory.mktemp("web-open") / "data", {"RAGD_AUTH__ENABLED": "false"}).start()
    yield s
    s.stop()
