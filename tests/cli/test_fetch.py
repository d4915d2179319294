"""`ragd ingest https://…`: a page of a local web site fetched and indexed; the default settings refuse it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.backend import query, url_of
from tests.httpsite import Site, serve_site
from typer.testing import CliRunner

from ragd.cli.main import app


@pytest.fixture
def site() -> Iterator[Site]:
    with serve_site() as s:
        yield s


def test_ingest_a_url(tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    refused = runner.invoke(app, ["ingest", site.url("/page.html"), "--data-dir", str(data)])
    assert refused.exit_code == 1 and "url_not_allowed" in refused.output, refused.output
    assert site.hosts_seen == []

    monkeypatch.setenv("RAGD_FETCH__ALLOW_PRIVATE_ADDRESSES", "true")
    res = runner.invoke(app, ["ingest", site.url("/sitemap.xml"), "--sitemap", "--collection", "web",
                              "--data-dir", str(data)])
    assert res.exit_code == 1, res.output  # one page of the sitemap is missing
    out = " ".join(res.output.split())
    assert "1 URLs: 2 indexed" in out and "/missing: [fetch_failed]" in out
    rows = query(url_of(data), "SELECT filename, status FROM documents WHERE collection = 'web' ORDER BY filename")
    assert rows == [("127.0.0.1 › doc.txt", "indexed"), ("127.0.0.1 › page.html", "indexed")]
