"""Headers every response carries, whatever produced it (JSON, problem+json, the UI, page images, streams).

* ``X-Content-Type-Options: nosniff``: browsers never guess a type other than the one sent (an uploaded file
  served back, a JSON error, a PNG);
* ``Referrer-Policy: no-referrer``: no ragd URL (document ids, queries) leaks to another site;
* ``X-Frame-Options: DENY``: no page of ragd may be framed (the UI's own page also says ``frame-ancestors
  'none'`` in its Content-Security-Policy, which only the UI sets: the OpenAPI pages at ``/docs`` load their
  scripts from a CDN).

A header a route set itself is kept.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULT_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_)
