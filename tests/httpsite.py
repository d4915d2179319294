"""A small web site on 127.0.0.1 for the URL-fetching tests (pages, a sitemap, redirects, a large and a stalled
answer), served by the standard library's HTTP server in a thread."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PAGE = (b"<html><head><title>Boilers</title></head><body><main><h1>Boiler service</h1>"
        b"<p>The north depot repairs boilers on Mondays and Thursdays.</p></main></body></html>")
TEXT = b"Warranty claims are handled by the south depot within five working days."


@dataclass
class Site:
    host: str
    port: int
    hosts_seen: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    """Set to let a request of ``/stall`` end."""
    redirect_to: str = ""
    """Where ``/redirect`` sends the client."""

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str, length: bool = True) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            site.hosts_seen.append(self.headers.get("Host", ""))
            path = self.path
            if path == "/page.html" or path == "/page":
                self._send(200, PAGE, "text/html; charset=utf-8")
            elif path == "/doc.txt":
                self._send(200, TEXT, "text/plain; charset=utf-8")
            elif path == "/sitemap.xml":
                locs = "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in ("/page", "/doc.txt", "/missing"))
                body = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                        f"{locs}</urlset>").encode()
                self._send(200, body, "application/xml")
            elif path == "/index.xml":  # a sitemap index naming the sitemap above
                body = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                        f"<sitemap><loc>{site.url('/sitemap.xml')}</loc></sitemap></sitemapindex>").encode()
                self._send(200, body, "application/xml")
            elif path == "/entities.xml":  # an entity expansion bomb
                body = (b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa">'
                        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&c;</loc></url>'
                        b"</urlset>")
                self._send(200, body, "application/xml")
            elif path == "/redirect":
                self.send_response(302)
                self.send_header("Location", site.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/loop":
                self.send_response(301)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/big":  # declared: refused before the body is read
                self._send(200, b"a" * (2 * 1024 * 1024), "text/plain")
            elif path == "/big-chunked":  # no length given: the download stops at the limit
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                for _ in range(64):
                    try:
                        self.wfile.write(b"b" * 65536)
                    except OSError:
                        return
            elif path == "/stall":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "10")
                self.end_headers()
                site.release.wait(30)
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


def make_tls(folder: Path, name: str) -> tuple[Path, ssl.SSLContext]:
    """A certificate authority (its PEM file, returned) and a server context whose certificate it signed for
    ``name``."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ragd test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ca_file, ctx


@contextmanager
def serve_site(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[Site]:
    """The site on ``host``; over TLS with ``tls`` (see :func:`make_tls`)."""
    server = ThreadingHTTPServer((host, 0), BaseHTTPRequestHandler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    site = Site(host, int(server.server_address[1]))
    server.RequestHandlerClass = _handler(site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.release.set()
        server.shutdown()
        server.server_close()
