"""Fetching web pages and sitemaps (``ragd ingest https://…``, ``POST /api/v1/documents/fetch``).

Every request goes through :meth:`Fetcher.get`, which guards against server-side request forgery:

* only ``http`` and ``https`` URLs, without user name or password;
* the host is resolved once and **every** address it resolves to must be public (not private, loopback,
  link-local, multicast, reserved, unspecified or shared, IPv4 or IPv6, including IPv4 addresses embedded in
  IPv6 ones: IPv4-mapped, 6to4, Teredo, NAT64), unless ``fetch.allow_private_addresses`` is on;
* the connection is made to the address that was checked (the URL's host is sent as ``Host`` and as the TLS
  server name, so certificates are verified against it): a second DNS answer cannot swap in another address;
* redirects are followed by hand, at most ``fetch.max_redirects``, each hop checked like the first;
* the body is streamed and the download stops past ``fetch.max_mb`` (413 ``payload_too_large``); each request
  has ``fetch.timeout_s``; proxies from the environment are not used (they would connect elsewhere).

A refused URL is 422 ``url_not_allowed``; one whose server fails, times out or answers 4xx/5xx is 422
``fetch_failed``. A sitemap (``<urlset>``, or a ``<sitemapindex>`` of them, one level deep) gives at most
``fetch.max_sitemap_pages`` pages; it is parsed without DTDs, entities or network access.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree

from ragd.auth.actor import LOCAL_ACTOR, Actor
from ragd.config.fetch import FetchSettings
from ragd.errors import DocumentError, FetchFailed, PayloadTooLarge, RagdError, UrlNotAllowed
from ragd.ingest.pipeline import Submission, Upload

if TYPE_CHECKING:
    from ragd.core import Ragd

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_EXTENSIONS = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf",
               "text/plain": ".txt", "text/markdown": ".md", "text/csv": ".csv",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx"}


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` is a public unicast address (and so is any IPv4 address it embeds)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # a connection to it goes to the IPv4 address
            return is_public(ip.ipv4_mapped)
        embedded: list[ipaddress.IPv4Address] = []
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if not all(is_public(v4) for v4 in embedded):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback
                                 or ip.is_link_local or ip.is_private)


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve {host!r}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass
class Page:
    url: str
    """The URL the body came from (after redirects)."""
    data: bytes
    content_type: str

    @property
    def filename(self) -> str:
        """A display name: host and path segments, the type's extension added when the path has none; a query
        string adds a short hash (two queries of one path are two documents)."""
        u = httpx.URL(self.url)
        segments = [s for s in u.path.split("/") if s] or ["index"]
        last = segments[-1]
        if u.query:
            last += "-" + hashlib.sha256(u.query).hexdigest()[:8]
        if "." not in segments[-1]:
            last += _EXTENSIONS.get(self.content_type, "")
        return " › ".join([u.host, *segments[:-1], last])


class Fetcher:
    """Fetches under :class:`~ragd.config.fetch.FetchSettings`; ``resolver`` is the DNS look-up (host, port) →
    addresses, ``allowed`` the address policy (default :func:`is_public`; every address when the settings allow
    private addresses)."""

    def __init__(self, settings: FetchSettings, *, resolver: Resolver = system_resolver,
                 allowed: Callable[[IPAddress], bool] = is_public) -> None:
        self.settings = settings
        self._resolve = resolver
        self._allowed = allowed

    def check(self, url: httpx.URL) -> str:
        """The address to connect to for ``url``; UrlNotAllowed when the URL or an address it resolves to is not
        allowed."""
        if url.scheme not in ("http", "https"):
            raise UrlNotAllowed(f"only http and https URLs can be fetched, not {url.scheme or 'a relative'!r} ones")
        if not url.host:
            raise UrlNotAllowed("the URL has no host")
        if url.userinfo:
            raise UrlNotAllowed("a URL to fetch carries no user name or password")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = [ipaddress.ip_address(url.host)]
        except ValueError:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self._resolve(url.host, port)]
        if not addresses:
            raise FetchFailed(f"{url.host!r} has no address")
        if not self.settings.allow_private_addresses:
            for ip in addresses:
                if not self._allowed(ip):
                    raise UrlNotAllowed(
                        f"{url.host!r} resolves to {ip}, which is not a public address (setting "
                        "RAGD_FETCH__ALLOW_PRIVATE_ADDRESSES)")
        return str(addresses[0])

    def get(self, url: str, *, accept: str = "*/*") -> Page:
        """Fetch ``url`` (following checked redirects) and return its body."""
        try:
            current = httpx.URL(url.strip())
        except (httpx.InvalidURL, TypeError) as exc:
            raise UrlNotAllowed(f"not a valid URL: {exc}") from None
        s = self.settings
        timeout = httpx.Timeout(s.timeout_s)
        verify = httpx.create_ssl_context(trust_env=False)
        if s.ca_file is not None:
            verify.load_verify_locations(cafile=str(s.ca_file))
        with httpx.Client(follow_redirects=False, trust_env=False, timeout=timeout, verify=verify) as client:
            for _hop in range(s.max_redirects + 1):
                address = self.check(current)
                target = current.copy_with(host=address)
                host = current.netloc.decode("ascii")
                headers = {"Host": host, "User-Agent": s.user_agent, "Accept": accept}
                extensions: dict[str, Any] = {"sni_hostname": current.host} if current.scheme == "https" else {}
                try:
                    request = client.build_request("GET", target, headers=headers, extensions=extensions)
                    response = client.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise FetchFailed(f"{current}: {type(exc).__name__}: {exc}") from None
                try:
                    if response.is_redirect:
                        current = current.join(response.headers.get("location", ""))
                        continue
                    if response.status_code >= 400:
                        raise FetchFailed(f"{current} answered {response.status_code}")
                    data = self._read(response, current)
                    ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                    return Page(str(current), data, ctype)
                finally:
                    response.close()
        raise FetchFailed(f"{url}: more than {s.max_redirects} redirects (setting RAGD_FETCH__MAX_REDIRECTS)")

    def _read(self, response: httpx.Response, url: httpx.URL) -> bytes:
        limit = int(self.settings.max_mb * 1024 * 1024)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"{url} is {declared} bytes; the limit is {limit} (setting RAGD_FETCH__MAX_MB)")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"{url} is larger than {limit} bytes (setting RAGD_FETCH__MAX_MB)")
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise FetchFailed(f"{url}: {type(exc).__name__}: {exc}") from None
        return b"".join(chunks)

    def sitemap(self, url: str) -> list[str]:
        """The page URLs of a sitemap (or of the sitemaps a sitemap index lists), at most ``max_sitemap_pages``."""
        page = self.get(url, accept="application/xml, text/xml")
        kind, locs = _parse_sitemap(page.data, page.url)
        if kind == "sitemapindex":
            pages: list[str] = []
            for child in locs:
                if len(pages) >= self.settings.max_sitemap_pages:
                    break
                sub_kind, sub = _parse_sitemap(self.get(child, accept="application/xml, text/xml").data, child)
                if sub_kind == "urlset":
                    pages.extend(sub)
            locs = pages
        return list(dict.fromkeys(locs))[: self.settings.max_sitemap_pages]


def _parse_sitemap(data: bytes, url: str) -> tuple[str, list[str]]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DocumentError(f"{url} is not a sitemap (XML: {exc})") from None
    kind = etree.QName(root).localname
    if kind not in ("urlset", "sitemapindex"):
        raise DocumentError(f"{url} is not a sitemap (root element <{kind}>)")
    child = "url" if kind == "urlset" else "sitemap"
    locs = []
    for el in root:
        if isinstance(el.tag, str) and etree.QName(el).localname == child:
            for sub in el:
                if isinstance(sub.tag, str) and etree.QName(sub).localname == "loc" and sub.text:
                    locs.append(sub.text.strip())
    return kind, locs


@dataclass
class FetchResult:
    submissions: list[tuple[str, Submission]] = field(default_factory=list)
    """Each page stored (or found already stored), with its URL."""
    failed: list[tuple[str, RagdError]] = field(default_factory=list)
    """Each page of a sitemap that could not be fetched or stored, with the error."""


def fetch_into(r: Ragd, url: str, *, sitemap: bool = False, collection: str | None = None,
               actor: Actor = LOCAL_ACTOR, uploaded_by: str | None = None, queue: str | None = None,
               fetcher: Fetcher | None = None) -> FetchResult:
    """Fetch ``url`` (or every page of the sitemap at ``url``) and submit each page as an upload to
    ``collection``; the page's URL is kept as the document's ``source_url`` metadata, and each page stored is
    audited as ``document.uploaded`` (with ``source_url``). A single page that fails raises; the pages of a sitemap
    fail one by one (the sitemap itself failing raises)."""
    fetcher = fetcher or Fetcher(r.settings.fetch)
    collection = r.access.writable_collection(actor, collection)
    urls = fetcher.sitemap(url) if sitemap else [url]
    result = FetchResult()
    for page_url in urls:
        try:
            page = fetcher.get(page_url)
            name = page.filename
            upload = Upload(page.data, name, r.ingest.check(page.data, name), {"source_url": page.url})
            sub = r.submit_many([upload], collection=collection, tenant_id=actor.tenant_id, uploaded_by=uploaded_by,
                                queue=queue)[0]
        except RagdError as exc:
            if not sitemap:
                raise
            result.failed.append((page_url, exc))
            continue
        result.submissions.append((page_url, sub))
        doc = sub.document
        r.audit_event("document.uploaded", actor, target=doc.id, details={
            "collection": doc.collection, "filename": doc.filename, "size": doc.size, "sha256": doc.content_hash,
            "duplicate": sub.duplicate, "source_url": page.url})
    return result
