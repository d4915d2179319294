"""HTTP/1.1 over a plain socket, for bodies too big to hold: the body is generated lazily and sent on a thread
while the response is read, so a server that answers early (413, 401) is seen answering early, and the test
process never holds the body either."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the server took before it answered (and usually closed the connection)


def zeros(total: int, chunk: int = 1 << 20, fill: bytes = b" ") -> Iterator[bytes]:
    block = fill * chunk
    while total > 0:
        n = min(total, chunk)
        yield block[:n]
        total -= n


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"connection closed before a response: {buf[:200]!r}")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            break
        rest += data
    return status, headers, rest[:length]


def request(port: int, method: str, path: str, headers: dict[str, str], body: Iterable[bytes], *,
            chunked: bool = False, timeout: float = 120.0) -> RawResponse:
    """Send ``body`` (an iterable of byte chunks; pass Content-Length in ``headers`` unless ``chunked``) while
    waiting for the response; stop sending as soon as the response arrives."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    if chunked:
        head.append("Transfer-Encoding: chunked")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    answered = threading.Event()
    sent = 0

    def pump() -> None:
        nonlocal sent
        with contextlib.suppress(OSError):  # the server answered and closed: expected when it refuses early
            for chunk in body:
                if answered.is_set():
                    return
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                sent += len(chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    try:
        status, resp_headers, resp_body = _read_response(sock)
    finally:
        answered.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes the sender if it is blocked in sendall
        sender.join(timeout)
        sock.close()
    return RawResponse(status, resp_headers, resp_body, sent)
