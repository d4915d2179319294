"""The web UI: ``GET /`` serves the single page, ``GET /assets/{version}/{path}`` its static files.

The files live in the package (``ragd/web/``), are read once when the router is built and served from memory,
gzip-compressed when the client accepts it. ``version`` is a hash of every file, so asset URLs change whenever an
asset does: assets are cached for a year (``immutable``) and the page itself is revalidated on every load
(``no-cache`` + ``ETag``). JavaScript modules import each other with relative URLs, so they inherit the version.
Only ``/``, ``/assets/…`` and ``/favicon.ico`` belong to the UI (client-side routes live in the URL fragment),
so ``/api``, ``/v1``, ``/metrics`` and ``/docs`` are never shadowed.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

from ragd.errors import NotFound

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
ASSET_PREFIX = "/assets"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}

# The UI runs only its own scripts and styles, talks only to this server, and may not be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None  # None when compression does not pay
    content_type: str
    etag: str


def _asset(body: bytes, content_type: str) -> Asset:
    packed = gzip.compress(body, 9, mtime=0)
    etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    return Asset(body, packed if len(packed) < len(body) * 0.9 else None, content_type, etag)


def load_assets(root: Path = WEB_DIR) -> tuple[str, dict[str, Asset], Asset]:
    """(version, assets by relative path, the rendered index page). ``index.html`` gets the versioned prefix in
    place of ``{{assets}}``."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in CONTENT_TYPES)
    digest = hashlib.sha256()
    for p in files:
        digest.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    version = digest.hexdigest()[:12]
    assets = {
        p.relative_to(root).as_posix(): _asset(p.read_bytes(), CONTENT_TYPES[p.suffix])
        for p in files
        if p.name != "index.html"
    }
    html = (root / "index.html").read_text(encoding="utf-8").replace("{{assets}}", f"{ASSET_PREFIX}/{version}")
    return version, assets, _asset(html.encode(), CONTENT_TYPES[".html"])


def _send(request: Request, asset: Asset, cache: str, extra: dict[str, str] | None = None) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": cache, "Vary": "Accept-Encoding", **(extra or {})}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["Content-Encoding"] = asset.gzipped, "gzip"
    return Response(body, media_type=asset.content_type, headers=headers)


def create_router(root: Path = WEB_DIR) -> APIRouter:
    """The UI's routes over the files in ``root`` (read now, once)."""
    version, assets, index = load_assets(root)
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def index_page(request: Request) -> Response:
        return _send(request, index, "no-cache", SECURITY_HEADERS)

    @router.get("/favicon.ico")
    def favicon(request: Request) -> Response:
        return _send(request, assets["icon.svg"], "public, max-age=86400")

    @router.get(ASSET_PREFIX + "/{asset_version}/{path:path}")
    def asset(request: Request, asset_version: str, path: str) -> Response:
        found = assets.get(path)
        if found is None:
            raise NotFound(f"no UI asset {path!r}")
        # An older page may still ask for an old version: serve the current file, but do not let it stick.
        cache = "public, max-age=31536000, immutable" if asset_version == version else "no-cache"
        return _send(request, found, cache, {"X-Content-Type-Options": "nosniff"})

    return router
