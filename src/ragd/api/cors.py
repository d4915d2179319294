"""Cross-origin requests from browsers (CORS), off unless ``server.cors_origins`` lists origins.

With no origin configured ragd sends no ``Access-Control-*`` header at all: a page of another site can still
send a request (a browser cannot be stopped from that), but cannot read the answer, and a preflighted request
(JSON body, ``Authorization`` header) is never sent. With origins listed, Starlette's ``CORSMiddleware`` answers
the preflights of those origins and adds the headers to their responses; other origins get none. The settings
refuse ``["*"]`` together with credentials (:class:`ragd.config.ServerSettings`).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from ragd.config import ServerSettings


def add_cors(app: FastAPI, server: ServerSettings) -> None:
    app.add_middleware(
        CORSMiddleware,
        allow_origins=server.cors_origins,
        allow_methods=server.cors_allow_methods,
        allow_headers=server.cors_allow_headers,
        expose_headers=server.cors_expose_headers,
        allow_credentials=server.cors_allow_credentials,
        max_age=server.cors_max_age,
    )
