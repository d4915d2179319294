"""The web UI end to end: Debian's Chromium (headless, through Playwright) against a real `ragd serve`.

Screenshots of each page go to docs/ui/ (docs/ui.md shows them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from tests.support import Server
from tests.web.conftest import ANSWER_PAGE, PDF, QUESTION, Session, shot, upload_pdf

expect.set_options(timeout=30_000)
MARKDOWN = "# Office plants\n\nThe ficus in room 12 is watered every Tuesday by the facilities team.\n"


@pytest.fixture
def session(browser: Browser, open_server: Server) -> Iterator[Session]:
    s = Session(browser, open_server.url)
    yield s
    s.close()


@pytest.fixture(scope="module")
def api(open_server: Server) -> Iterator[httpx.Client]:
    with open_server.client() as c:
        yield c


@pytest.fixture(scope="module")
def markdown(open_server: Server, api: httpx.Client) -> dict:
    """A small Markdown document (the same bytes the drop test uses, so either upload makes it exist)."""
    r = api.post("/api/v1/documents/upload", files=[("file", ("plants.md", MARKDOWN.encode()))])
    assert r.status_code == 201, r.text
    doc_id = r.json()["documents"][0]["id"]
    return open_server.wait_done(api, [doc_id])[doc_id]


@pytest.fixture(scope="module")
def indexed(open_server: Server, api: httpx.Client) -> dict:
    """The fixture PDF, indexed (uploading the same bytes again is a no-op, so the UI test may have done it)."""
    return upload_pdf(api, open_server)


# -- documents ------------------------------------------------------------------------------------------------------
def test_documents_upload_and_status(session: Session) -> None:
    page = session.open("#/documents")
    page.set_input_files("#file-input", str(PDF))
    page.evaluate(
        """([name, text]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, { type: "text/markdown" }));
            document.querySelector("[data-testid=dropzone]")
              .dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        ["plants.md", MARKDOWN],
    )
    for name in (PDF.name, "plants.md"):
        expect(page.locator(f"li[data-upload='{name}'] progress")).to_have_attribute("value", "100")
        status = page.locator(f"tr[data-filename='{name}'] [data-testid=status]")
        expect(status).to_have_text("indexed", timeout=300_000)
    row = page.locator(f"tr[data-filename='{PDF.name}']")
    expect(row).to_contain_text("5")  # pages
    page.fill("#doc-search", "plants")
    expect(page.locator("[data-testid=documents] tbody tr")).to_have_count(1)
    page.fill("#doc-search", "")
    page.select_option("#doc-sort", "name")
    expect(page.locator("[data-testid=documents] tbody tr").first).to_have_attribute("data-filename", PDF.name)
    shot(page, "documents")

    with page.expect_download() as download:
        row.get_by_role("button", name=f"Download {PDF.name}").click()
    assert download.value.suggested_filename == PDF.name
    assert Path(download.value.path()).read_bytes() == PDF.read_bytes()
    plants = page.locator("tr[data-filename='plants.md']")
    with page.expect_response("**/reindex") as reindexed:
        plants.get_by_role("button", name="Re-index plants.md").click()
    assert reindexed.value.status == 202
    expect(plants.locator("[data-testid=status]")).to_have_text("indexed", timeout=300_000)


def test_documents_failed_shows_reason(session: Session, open_server: Server, api: httpx.Client) -> None:
    r = api.post("/api/v1/documents/upload", files=[("file", ("scan.pdf", b"%PDF-1.4\nnot really a pdf\n%%EOF"))])
    assert r.status_code == 201, r.text
    doc_id = r.json()["documents"][0]["id"]
    assert open_server.wait_done(api, [doc_id])[doc_id]["status"] == "failed"
    page = session.open("#/documents")
    row = page.locator("tr[data-filename='scan.pdf']")
    expect(row.locator("[data-testid=status]")).to_have_text("failed")
    expect(row.locator(".reason")).to_contain_text("document_corrupt")
    row.get_by_role("button", name="Delete scan.pdf").click()
    expect(row).to_have_count(0)


# -- ask ------------------------------------------------------------------------------------------------------------
def test_ask_cite_and_open_the_page(session: Session, api: httpx.Client, indexed: dict) -> None:
    page = session.open("#/ask")
    page.fill("#question", QUESTION)
    page.press("#question", "Enter")
    answer = page.locator("[data-testid=answer]").last
    expect(answer.locator(".cite")).to_have_count(1, timeout=60_000)
    expect(answer).to_contain_text("LaTeX")
    sources = page.locator("[data-testid=sources]")
    expect(sources).to_contain_text(PDF.name)
    expect(sources).to_contain_text(f"page {ANSWER_PAGE}")
    expect(page.locator("[data-testid=conversations] li")).to_have_count(1)
    shot(page, "ask")

    cite = answer.locator(".cite").first
    cite.click()
    viewer = page.locator("[data-testid=viewer]")
    image = viewer.locator("[data-testid=page-image]")
    expect(viewer.locator(f".page[data-page='{ANSWER_PAGE}']")).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 800", arg=image.element_handle())
    marks = viewer.locator("[data-testid=highlight]")
    expect(marks.first).to_be_visible()
    frame = image.bounding_box()
    for i in range(marks.count()):
        box = marks.nth(i).bounding_box()
        assert frame and box
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1
        assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"] + 1
    shot(page, "sources")
    viewer.get_by_role("button", name="Next page").click()
    expect(viewer.locator(f".page[data-page='{ANSWER_PAGE + 1}']")).to_be_visible()
    expect(viewer).to_contain_text("The cited passage is not on this page.")
    page.keyboard.press("Escape")
    expect(viewer).to_have_count(0)
    assert page.evaluate("document.activeElement.classList.contains('cite')")  # focus back on the marker

    answer.locator("[data-rating='1']").click()
    answer.locator("textarea").fill("Right page, right sentence.")
    answer.get_by_role("button", name="Send feedback").click()
    expect(answer).to_contain_text("Thank you for your feedback.")
    feedback = api.get("/api/v1/admin/feedback").json()["feedback"]
    assert any(f["rating"] == 1 and f["comment"] == "Right page, right sentence." for f in feedback)


def test_conversations_new_reopen_delete(session: Session, indexed: dict) -> None:
    page = session.open("#/ask")
    page.get_by_test_id("new-conversation").click()
    page.fill("#question", "Who patented the typewriter in 1868?")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator("[data-testid=answer]")).to_contain_text("Sholes", timeout=60_000)
    conversations = page.locator("[data-testid=conversations] li")
    count = conversations.count()
    page.get_by_test_id("new-conversation").click()
    expect(page.locator("[data-testid=answer]")).to_have_count(0)
    page.locator("[data-testid=conversations] a", has_text="Who patented").click()
    expect(page.locator("[data-testid=answer]")).to_contain_text("Sholes")  # the stored conversation
    page.get_by_role("button", name="Delete conversation “Who patented the typewriter in 1868?”").click()
    expect(conversations).to_have_count(max(count - 1, 1))
    expect(page.locator("[data-testid=conversations]")).not_to_contain_text("Who patented")


def test_filters_and_a_text_passage(session: Session, indexed: dict, markdown: dict) -> None:
    page = session.open("#/ask")
    page.get_by_label("MD", exact=True).check()  # only Markdown: the PDF's passages are filtered out
    with page.expect_request("**/api/v1/chat") as req:
        page.fill("#question", "When is the ficus in room 12 watered?")
        page.press("#question", "Enter")
    assert req.value.post_data_json["filters"] == {"file_types": ["md"]}
    answer = page.locator("[data-testid=answer]").last
    expect(answer.locator(".cite")).to_have_count(1, timeout=60_000)
    expect(answer).not_to_have_attribute("aria-busy", "true")  # the stream has ended
    expect(answer).to_contain_text("Tuesday")
    expect(page.locator("[data-testid=sources]")).to_contain_text("plants.md")
    answer.locator(".cite").click()
    mark = page.locator("[data-testid=viewer] mark[data-testid=highlight]")  # not a PDF: the text, marked
    expect(mark).to_contain_text("watered every Tuesday")
    page.keyboard.press("Escape")


# -- language, theme, layout, weight --------------------------------------------------------------------------------
def test_french_interface(browser: Browser, open_server: Server, indexed: dict) -> None:
    s = Session(browser, open_server.url, locale="fr-FR")
    try:
        page = s.open("#/documents")
        assert page.evaluate("document.documentElement.lang") == "fr"
        expect(page.locator("[data-nav=ask]")).to_have_text("Questions")
        expect(page.locator("[data-nav=admin]")).to_have_text("Administration")
        expect(page.get_by_text("Choisir des fichiers")).to_be_visible()
        expect(page.locator(f"tr[data-filename='{PDF.name}'] [data-testid=status]")).to_have_text("indexé")
        shot(page, "french")
        page.locator("[data-nav=ask]").click()
        expect(page.locator("#ask-send")).to_have_text("Demander")
        page.select_option("#lang", "en")  # switch, and the choice is remembered
        expect(page.locator("#ask-send")).to_have_text("Ask")
        page.reload()
        expect(page.locator("[data-nav=ask]")).to_have_text("Ask")
    finally:
        s.close()


def test_theme_toggle(browser: Browser, open_server: Server, indexed: dict) -> None:
    background = "getComputedStyle(document.body).backgroundColor"
    s = Session(browser, open_server.url, color_scheme="light")
    try:
        page = s.open("#/ask")
        assert page.evaluate(background) == "rgb(247, 248, 250)"
        page.locator("#theme").click()
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate(background) == "rgb(15, 18, 22)"
        expect(page.locator("#theme")).to_have_attribute("aria-label", "Switch to the light theme")
        page.reload()
        page.wait_for_selector("html[data-ready]")
        assert page.evaluate(background) == "rgb(15, 18, 22)"  # remembered
        stored = page.locator("[data-testid=conversations] a")
        if stored.count():
            stored.last.click()  # the oldest: the cited answer of test_ask_cite_and_open_the_page
            expect(page.locator("[data-testid=messages] .msg.user")).not_to_have_count(0)
        shot(page, "dark")
    finally:
        s.close()
    dark = Session(browser, open_server.url, color_scheme="dark")  # no choice saved: follow the system
    try:
        assert dark.open("#/ask").evaluate(background) == "rgb(15, 18, 22)"
    finally:
        dark.close()


def test_phone_layout(browser: Browser, open_server: Server, indexed: dict) -> None:
    s = Session(browser, open_server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        for route in ("#/ask", "#/documents", "#/admin/system"):
            page = s.open(route)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), route
        shot(s.open("#/ask"), "phone")
    finally:
        s.close()


def test_labels_and_keyboard(session: Session, indexed: dict) -> None:
    unnamed = """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href]")]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                      && !el.getAttribute("aria-labelledby") && !el.textContent.trim() && !el.title)
        .map(el => el.outerHTML.slice(0, 120))"""
    for route in ("#/ask", "#/documents", "#/admin/users", "#/admin/keys", "#/admin/collections", "#/admin/audit",
                  "#/admin/system"):
        page = session.open(route)
        page.wait_for_load_state("networkidle")
        assert page.evaluate(unnamed) == [], route
    page = session.open("#/documents")
    page.reload()  # a fresh load: nothing focused yet
    page.wait_for_selector("html[data-ready]")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page = session.open("#/ask")
    expect(page.locator("#question")).to_be_focused()
    page.keyboard.type("Which tool gained popularity among academics?")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=answer] .cite").first).to_be_visible(timeout=60_000)


def test_ask_page_weight(browser: Browser, open_server: Server) -> None:
    """HTML + JS + CSS (+ the dictionary) of the ask page: under 300 KB, compressed as sent and uncompressed."""
    s = Session(browser, open_server.url)
    responses = []
    s.page.on("response", lambda r: responses.append(r))
    try:
        page = s.open("#/ask")
        page.wait_for_load_state("networkidle")
        sent = decoded = 0
        for r in responses:
            if r.request.resource_type in ("document", "script", "stylesheet") or r.url.endswith(".json"):
                if "/api/" in r.url:
                    continue
                sizes = r.request.sizes()
                sent += sizes["responseBodySize"] + sizes["responseHeadersSize"]
                decoded += len(r.body())
        assert 0 < sent < 300_000 and decoded < 300_000, (sent, decoded)
        print(f"ask page weight: {sent} bytes sent, {decoded} bytes uncompressed")
    finally:
        s.close()


def test_admin_system(session: Session, indexed: dict) -> None:
    page = session.open("#/admin/system")
    stats = page.locator("[data-testid=stats]")
    expect(stats).to_contain_text("Queue depth")
    expect(stats).to_contain_text("0.1.0")
    expect(page.locator("[data-testid=checks] tbody tr").first).to_contain_text("ok")
    shot(page, "admin-system")
    page = session.open("#/admin/audit")
    expect(page.locator("[data-testid=audit] tbody tr").first).to_be_visible()  # uploads are audited
