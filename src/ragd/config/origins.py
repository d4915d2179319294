"""CORS origins as browsers write them in the ``Origin`` header (``server.cors_origins``, :mod:`ragd.api.cors`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

HTTP_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # RFC 9110 token: a method or a header field name
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str:
    """A CORS origin as browsers send it in ``Origin`` (lower-case scheme and host, no default port, no path), or
    ``"*"``; a ``ValueError`` for anything that would never match a browser's origin."""
    text = value.strip()
    if text == "*":
        return text
    if text.lower() == "null":
        raise ValueError("server.cors_origins: \"null\" is the origin of sandboxed frames and local files, which "
                         "any page can produce: not allowed")
    parts = urlsplit(text[:-1] if text.endswith("/") and text.count("/") == 3 else text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.username is not None or parts.password is not None:  # not echoed: it may hold a password
        raise ValueError("server.cors_origins: an origin has no user name or password (scheme://host[:port])")
    if not parts.scheme or not parts.hostname or "*" in text or port == -1 or any(
            (parts.path, parts.query, parts.fragment)):
        raise ValueError(f"server.cors_origins: {text!r} is not an origin: write scheme://host[:port], e.g. "
                         "https://app.example.com (no path; no pattern, list each origin)")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    scheme = parts.scheme.lower()
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"
