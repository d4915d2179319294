"""``create_app(settings)``: the FastAPI application over one :class:`ragd.core.Ragd`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from ragd import __version__
from ragd.api.cors import add_cors
from ragd.api.deps import single_query_values
from ragd.api.errors import install_error_handlers
from ragd.api.headers import SecurityHeadersMiddleware
from ragd.api.limits import BodyLimitMiddleware
from ragd.api.problems import install_openapi
from ragd.api.routes import (
    admin,
    admin_sync,
    audit,
    auth,
    chat,
    collections,
    compat,
    documents,
    evaluation,
    feedback,
    fetch,
    openai_compat,
    ops,
    query,
    system,
)
from ragd.api.routes.pages import router as pages_router
from ragd.api.routes.web import create_router as web_ui_router
from ragd.config import Settings
from ragd.core import Ragd
from ragd.observability.logging import configure_logging
from ragd.observability.middleware import ObservabilityMiddleware
from ragd.security.filemodes import restrict_umask

log = logging.getLogger("ragd.api")


def create_app(settings: Settings | None = None, ragd: Ragd | None = None) -> FastAPI:
    """Build the app. The :class:`Ragd` instance is created at start-up (or given, for tests)."""
    restrict_umask()  # files at rest are private to ragd's user, whoever launched the server
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.logging)  # after the server's own logging set-up, so every line is ours
        instance = ragd or Ragd(settings)
        if not settings.auth.enabled:
            log.warning("authentication is OFF (RAGD_AUTH__ENABLED=false): every request acts as an administrator")
        elif instance.bootstrap_admin() is not None:
            log.warning("first start: created the administrator admin@localhost; its password is in %s (sign in "
                        "and change it: POST /api/v1/auth/password)", settings.data_dir / "initial-admin-password")
        app.state.ragd = instance
        instance.start()
        try:
            yield
        finally:
            instance.close()

    app = FastAPI(
        title="ragd",
        version=__version__,
        description="Self-hosted retrieval-augmented generation: cited answers from your own documents.",
        lifespan=lifespan,
        dependencies=[Depends(single_query_values)],
    )
    install_error_handlers(app)
    install_openapi(app)
    # Outermost last: security headers on every response, then the request id / access log, then CORS (only when
    # origins are configured: it answers preflights itself), then the body caps (which answer some requests
    # themselves, so those are logged and carry the headers too).
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    if settings.server.cors_origins:
        add_cors(app, settings.server)
    app.add_middleware(ObservabilityMiddleware, access_log=settings.logging.access_log)
    app.add_middleware(SecurityHeadersMiddleware)
    for r in (system.router, fetch.router, documents.router, query.router, ops.router):
        app.include_router(r)
    for r in (chat.router, feedback.router, openai_compat.router):  # answers: issue 6
        app.include_router(r)
    for r in (auth.router, admin.router, admin_sync.router, collections.router, evaluation.router):
        app.include_router(r)
    app.include_router(audit.router)  # the audit trail: issue 5
    app.include_router(compat.router)  # the calls of the deployments ragd replaces, hidden from OpenAPI: issue 17
    app.include_router(pages_router)  # the web UI (issue 8): PDF pages for the citation viewer, then / and /assets
    app.include_router(web_ui_router())
    return app
