"""Fetching pages (:mod:`ragd.ingest.fetch`): only public addresses unless allowed, checked on every redirect hop,
connected to the address checked; size, time and redirect limits; sitemaps."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.httpsite import PAGE, TEXT, Site, make_tls, serve_site

from ragd.config.fetch import FetchSettings
from ragd.errors import DocumentError, FetchFailed, PayloadTooLarge, UrlNotAllowed
from ragd.ingest.fetch import Fetcher, Page, is_public


@pytest.fixture
def site() -> Iterator[Site]:
    with serve_site() as s:
        yield s


def loose(**kw: object) -> Fetcher:
    return Fetcher(FetchSettings(allow_private_addresses=True, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::", "64:ff9b::a00:1", "::127.0.0.1",
])
def test_non_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "0x7f000001", "127.1", "[::1]",
                                  "[::ffff:127.0.0.1]", "[0:0:0:0:0:ffff:7f00:1]"])
def test_by_default_a_loopback_url_is_refused(site: Site, host: str) -> None:
    """However the loopback address is written (names, integer and hex forms the resolver accepts, IPv6)."""
    with pytest.raises(UrlNotAllowed, match="not a public address") as exc:
        Fetcher(FetchSettings()).get(f"http://{host}:{site.port}/page.html")
    assert exc.value.code == "url_not_allowed" and site.hosts_seen == []  # never connected


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/", "/relative",
                                 "http://user:secret@example.org/"])
def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(UrlNotAllowed):
        loose().get(url)


def test_a_host_with_any_private_address_is_refused() -> None:
    fetcher = Fetcher(FetchSettings(), resolver=lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(UrlNotAllowed, match=r"10\.0\.0\.7"):
        fetcher.get("http://mixed.example/")


def test_a_redirect_to_a_private_address_is_refused(site: Site) -> None:
    """The first hop is allowed (the policy lets exactly the site's address through); its redirect to another
    loopback address is checked again and refused."""
    site.redirect_to = "http://127.0.0.2:9/secret"
    fetcher = Fetcher(FetchSettings(), allowed=lambda ip: ip == ipaddress.ip_address("127.0.0.1"))
    assert fetcher.get(site.url("/page.html")).data == PAGE
    with pytest.raises(UrlNotAllowed, match=r"127\.0\.0\.2"):
        fetcher.get(site.url("/redirect"))


def test_the_checked_address_is_the_one_connected_to(site: Site) -> None:
    """The host name is resolved once (here by the given resolver: no DNS knows it) and the request goes to that
    address with the name as Host: a second, different DNS answer has no window to be used."""
    fetcher = Fetcher(FetchSettings(allow_private_addresses=True), resolver=lambda host, port: ["127.0.0.1"])
    page = fetcher.get(f"http://intranet.test:{site.port}/doc.txt")
    assert page.data == TEXT and site.hosts_seen == [f"intranet.test:{site.port}"]
    assert page.url == f"http://intranet.test:{site.port}/doc.txt"


def test_https_verifies_the_name_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    """Over TLS the checked address is connected to, and the certificate is verified against the URL's host name
    (sent as the TLS server name): a certificate for another name is refused."""
    ca_file, tls = make_tls(tmp_path, "intranet.test")
    with serve_site(tls=tls) as site:
        settings = FetchSettings(allow_private_addresses=True, ca_file=ca_file)
        fetcher = Fetcher(settings, resolver=lambda host, port: ["127.0.0.1"])
        page = fetcher.get(f"https://intranet.test:{site.port}/doc.txt")
        assert page.data == TEXT and site.hosts_seen == [f"intranet.test:{site.port}"]
        with pytest.raises(FetchFailed, match="certificate"):
            fetcher.get(f"https://other.test:{site.port}/doc.txt")  # the certificate names intranet.test only
        with pytest.raises(FetchFailed, match="certificate"):  # an unknown authority
            Fetcher(FetchSettings(allow_private_addresses=True), resolver=lambda host, port: ["127.0.0.1"]).get(
                f"https://intranet.test:{site.port}/doc.txt")


def test_redirects_are_followed_and_bounded(site: Site) -> None:
    site.redirect_to = site.url("/doc.txt")
    page = loose().get(site.url("/redirect"))
    assert page.data == TEXT and page.url == site.url("/doc.txt") and page.content_type == "text/plain"
    with pytest.raises(FetchFailed, match="redirects"):
        loose(max_redirects=3).get(site.url("/loop"))


def test_size_and_time_limits(site: Site) -> None:
    with pytest.raises(PayloadTooLarge):
        loose(max_mb=1).get(site.url("/big"))
    with pytest.raises(PayloadTooLarge):
        loose(max_mb=1).get(site.url("/big-chunked"))
    with pytest.raises(FetchFailed, match="Timeout"):
        loose(timeout_s=0.3).get(site.url("/stall"))
    with pytest.raises(FetchFailed, match="404"):
        loose().get(site.url("/missing"))
    with pytest.raises(FetchFailed):
        loose(timeout_s=2).get("http://127.0.0.1:9/")  # nothing listens


def test_sitemap_pages_are_listed_and_bounded(site: Site) -> None:
    urls = loose().sitemap(site.url("/sitemap.xml"))
    assert urls == [site.url("/page"), site.url("/doc.txt"), site.url("/missing")]
    assert loose(max_sitemap_pages=1).sitemap(site.url("/sitemap.xml")) == [site.url("/page")]
    with pytest.raises(DocumentError, match="not a sitemap"):
        loose().sitemap(site.url("/page.html"))
    assert loose().sitemap(site.url("/index.xml")) == urls  # a sitemap index: its sitemaps' pages
    assert loose().sitemap(site.url("/entities.xml")) == []  # entities are not expanded


def test_page_names() -> None:
    assert Page("http://h.example/docs/guide", b"", "text/html").filename == "h.example › docs › guide.html"
    assert Page("http://h.example/", b"", "text/html").filename == "h.example › index.html"
    assert Page("http://h.example/a.pdf", b"", "application/pdf").filename == "h.example › a.pdf"
    one, two = (Page(f"http://h.example/s?q={q}", b"", "text/html").filename for q in "12")
    assert one != two
