"""The UI's files: served by ragd at / and /assets with the right types and caching; nothing shadows the API;
both dictionaries carry every string the code asks for."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support import Server

WEB = Path(__file__).resolve().parents[2] / "src" / "ragd" / "web"


@pytest.fixture(scope="module")
def client(open_server: Server) -> Iterator[httpx.Client]:
    with open_server.client() as c:
        yield c


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


def test_index_page(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache" and r.headers["etag"]
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "{{assets}}" not in r.text
    assert "http://" not in r.text and "https://" not in r.text  # offline: nothing from elsewhere
    again = client.get("/", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_assets_types_and_caching(client: httpx.Client) -> None:
    urls = asset_urls(client.get("/").text)
    types = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
    assert {Path(u).suffix for u in urls} == set(types)
    for url in urls:
        r = client.get(url, headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200, url
        assert r.headers["content-type"] == types[Path(url).suffix]
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["x-content-type-options"] == "nosniff"
    version = urls[0].split("/")[2]
    module = client.get(f"/assets/{version}/js/ask.js")
    assert module.status_code == 200 and "export async function render" in module.text
    dictionary = client.get(f"/assets/{version}/i18n/fr.json")
    assert dictionary.headers["content-type"] == "application/json" and dictionary.json()["nav.ask"]
    old = client.get("/assets/000000000000/js/app.js")  # a page from before an upgrade
    assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"


def test_gzip(client: httpx.Client) -> None:
    url = next(u for u in asset_urls(client.get("/").text) if u.endswith("app.js"))
    with httpx.stream("GET", str(client.base_url) + url, headers={"Accept-Encoding": "gzip"}) as r:
        packed = b"".join(r.iter_raw())  # as sent, not decoded
        assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(packed) == plain.content and len(packed) < len(plain.content)


@pytest.mark.parametrize("path", ["/assets/x/../../pyproject.toml", "/assets/x/js/nope.js", "/assets/x/%2e%2e/x"])
def test_unknown_assets(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_api_not_shadowed(client: httpx.Client) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert "/" not in client.get("/openapi.json").json()["paths"]  # the UI stays out of the API description
    assert client.get("/v1/models").status_code == 200
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"


def test_dictionaries_complete() -> None:
    """en.json and fr.json have the same keys, no empty string, and every literal key used in the code."""
    en = json.loads((WEB / "i18n" / "en.json").read_text(encoding="utf-8"))
    fr = json.loads((WEB / "i18n" / "fr.json").read_text(encoding="utf-8"))
    assert en.keys() == fr.keys()
    assert all(v.strip() for v in [*en.values(), *fr.values()])
    code = "\n".join(p.read_text(encoding="utf-8") for p in (WEB / "js").glob("*.js"))
    code += (WEB / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'\bt\("([\w.]+)"', code)) | set(re.findall(r'confirmAction\("([\w.]+)"', code))
    used |= set(re.findall(r'data-i18n(?:-label|-placeholder)?="([\w.]+)"', code))
    used |= set(re.findall(r'\[\d+, [^,]+, "([\w.]+)"\]', code))  # the feedback buttons' table
    assert used and not used - en.keys(), sorted(used - en.keys())
    for prefix in ("role.", "status.", "lang.", "nav.", "docs.sort.", "upload.", "admin.", "system."):
        assert any(k.startswith(prefix) for k in en), prefix
    placeholders = re.compile(r"\{(\w+)\}")
    for key in en:
        assert set(placeholders.findall(en[key])) == set(placeholders.findall(fr[key])), key


def test_no_third_party_urls_in_assets() -> None:
    for path in WEB.rglob("*"):
        if path.suffix in (".js", ".css", ".html"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), path
