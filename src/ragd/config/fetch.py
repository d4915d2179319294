"""``fetch.*``: fetching web pages and sitemaps into a collection (``ragd ingest https://…``,
``POST /api/v1/documents/fetch``; :mod:`ragd.ingest.fetch`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class FetchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow_private_addresses: bool = Field(
        False, description="Allow fetching from private, loopback, link-local and other non-public addresses "
        "(off: such a URL, or a redirect to one, is refused with 422 url_not_allowed)."
    )
    max_mb: float = Field(20.0, gt=0, description="Largest page fetched, in MiB (the download stops there: 413).")
    timeout_s: float = Field(15.0, gt=0, description="Time limit of each request (connect, and each read), in seconds.")
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per URL (each hop checked again).")
    max_sitemap_pages: int = Field(200, ge=1, description="Most pages fetched from one sitemap.")
    user_agent: str = Field("ragd", description="User-Agent header of the requests.")
    ca_file: Path | None = Field(None, description="PEM file of extra certificate authorities trusted for https "
                                 "(an intranet's own CA), besides the usual public ones.")
