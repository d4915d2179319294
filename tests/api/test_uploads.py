"""Multi-file uploads read as they arrive (ragd.api.uploads), over a real `ragd serve` with authentication on:
the caller is authenticated before the body is read, each file streams to a 0600 temporary file in the data
directory and is refused the moment its first bytes or its size say so, nothing is left behind, and the server's
memory stays flat while 6 × 95 MB uploads are refused."""

from __future__ import annotations

import json
import stat
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.api.memory import MIB, RSS_GROWTH_BOUND, reset_peak, vm
from tests.api.rawhttp import RawResponse, request
from tests.auth.conftest import login, server_with_admin
from tests.support import Server

PART = 95 * 1000 * 1000
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = server_with_admin(tmp_path_factory.mktemp("uploads") / "data", "up@example.org", RAGD_INGEST__WORKERS="0",
                          RAGD_RATELIMIT__UPLOAD_MB_PER_HOUR=json.dumps({"admin": 100_000}))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def auth(server: Server) -> dict[str, str]:
    with server.client() as c:
        return login(c, "up@example.org")


def multipart(files: list[tuple[str, bytes, int]], boundary: str) -> tuple[int, Iterator[bytes]]:
    """(length, lazily generated body) of ``files`` given as (name, first bytes, total size): each file is its
    first bytes then spaces up to its size, generated a MiB at a time."""
    heads = [(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
              f"Content-Type: application/octet-stream\r\n\r\n").encode() for name, _, _ in files]
    tail = f"--{boundary}--\r\n".encode()
    length = sum(len(h) + size + 2 for h, (_, _, size) in zip(heads, files, strict=True)) + len(tail)

    def gen() -> Iterator[bytes]:
        block = b" " * MIB
        for head, (_, first, size) in zip(heads, files, strict=True):
            yield head + first
            left = size - len(first)
            while left > 0:
                yield block[: min(left, MIB)]
                left -= MIB
            yield b"\r\n"
        yield tail

    return length, gen()


def upload(server: Server, auth: dict[str, str], files: list[tuple[str, bytes, int]]) -> RawResponse:
    boundary = uuid.uuid4().hex
    length, body = multipart(files, boundary)
    headers = {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(length)}
    return request(server.port, "POST", "/api/v1/documents/upload", headers, body)


def documents_total(server: Server, auth: dict[str, str]) -> int:
    with server.client() as c:
        return int(c.get("/api/v1/documents", headers=auth).json()["total"])


def leftovers(server: Server) -> list[Path]:
    root = server.data_dir / "uploads"
    return [p for p in root.rglob("*")] if root.exists() else []


def test_anonymous_upload_is_refused_before_its_body_is_read(server: Server) -> None:
    r = upload(server, {}, [(f"f{i}.txt", b"text ", PART) for i in range(6)])
    assert r.status == 401 and json.loads(r.body)["code"] == "unauthorized", r.body
    assert r.sent < 64 * MIB


def test_a_bad_first_file_is_refused_before_the_others_arrive(server: Server, auth: dict[str, str]) -> None:
    before = documents_total(server, auth)
    r = upload(server, auth, [("report.pdf", ELF, PART), *((f"f{i}.txt", b"text ", PART) for i in range(5))])
    assert r.status == 415 and json.loads(r.body)["code"] == "unsupported_media_type", r.body
    assert r.sent < 64 * MIB, f"the server took {r.sent} bytes before refusing the first file"
    assert documents_total(server, auth) == before and not leftovers(server)


def test_a_file_over_the_size_limit_is_refused_as_it_passes_it(server: Server, auth: dict[str, str]) -> None:
    r = upload(server, auth, [("huge.txt", b"text ", 150 * MIB), ("next.txt", b"text ", PART)])
    body = json.loads(r.body)
    assert r.status == 413 and body["code"] == "payload_too_large" and "huge.txt" in body["detail"], r.body
    assert r.sent < 100 * MIB + 64 * MIB and not leftovers(server)


def test_memory_stays_flat_while_6_x_95_mb_uploads_are_refused(server: Server, auth: dict[str, str]) -> None:
    assert server.proc is not None
    upload(server, auth, [("warm.txt", b"text ", MIB), ("warm.bin", ELF, MIB)])  # first-use allocations
    before = reset_peak(server.proc.pid)
    r = upload(server, auth, [*((f"f{i}.txt", b"text ", PART) for i in range(5)), ("last.pdf", ELF, PART)])
    assert r.status == 415, r.body
    r = upload(server, auth, [("first.pdf", ELF, PART), *((f"f{i}.txt", b"text ", PART) for i in range(5))])
    assert r.status == 415, r.body
    peak = vm(server.proc.pid, "VmHWM")
    assert peak - before < RSS_GROWTH_BOUND, f"RSS peaked {(peak - before) / MIB:.0f} MiB above where it was"
    assert not leftovers(server)


def test_spooled_parts_are_private_files_in_the_data_directory(server: Server, auth: dict[str, str]) -> None:
    """While a part streams, its temporary file is under DATA_DIR/uploads, mode 0600 in a 0700 directory."""
    boundary = uuid.uuid4().hex
    length, body = multipart([("slow.txt", b"text ", 40 * MIB)], boundary)
    seen: list[tuple[Path, int, int]] = []
    found = threading.Event()

    def slow_body() -> Iterator[bytes]:
        for i, chunk in enumerate(body):
            if i == 8 and not found.is_set():  # 8 MiB sent: wait (bounded) until the spooled file shows up
                for _ in range(600):
                    parts = [p for p in leftovers(server) if p.is_file()]
                    if parts and parts[0].stat().st_size > 0:
                        p = parts[0]
                        seen.append((p, stat.S_IMODE(p.stat().st_mode), stat.S_IMODE(p.parent.stat().st_mode)))
                        found.set()
                        break
                    found.wait(0.1)
            yield chunk

    headers = {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(length)}
    r = request(server.port, "POST", "/api/v1/documents/upload", headers, slow_body())
    assert r.status == 201, r.body
    assert seen, "no spooled file appeared under DATA_DIR/uploads"
    path, mode, dir_mode = seen[0]
    assert path.resolve().is_relative_to(server.data_dir.resolve())
    assert mode == 0o600 and dir_mode == 0o700, (oct(mode), oct(dir_mode))
    assert not leftovers(server)


def test_form_fields_after_the_files_and_several_files_still_work(server: Server, auth: dict[str, str]) -> None:
    boundary = "b" + uuid.uuid4().hex
    parts = [
        (b'Content-Disposition: form-data; name="file"; filename="a.txt"', b"alpha text " * 100),
        (b'Content-Disposition: form-data; name="file"; filename="b.md"', b"# Beta\n\nbeta text\n"),
        (b'Content-Disposition: form-data; name="collection"', b"late-fields"),
        (b'Content-Disposition: form-data; name="metadata"', b'{"k": "v"}'),
    ]
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + h + b"\r\n\r\n" + v + b"\r\n" for h, v in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    with server.client() as c:
        r = c.post("/api/v1/documents/upload", content=body,
                   headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert r.status_code == 201, r.text
        docs = r.json()["documents"]
        assert [d["filename"] for d in docs] == ["a.txt", "b.md"]
        assert {d["collection"] for d in docs} == {"late-fields"} and docs[0]["metadata"] == {"k": "v"}
        assert [d["mime"] for d in docs] == ["text/plain", "text/markdown"]
        r = c.post("/api/v1/documents/upload", json={"file": "x"}, headers=auth)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
        r = c.post("/api/v1/documents/upload", files={"file": ("x.txt", b"x")}, data={"collection": "../etc"},
                   headers=auth)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
    assert not leftovers(server)


def test_too_many_files_in_one_upload_are_refused(server: Server, auth: dict[str, str]) -> None:
    before = documents_total(server, auth)
    r = upload(server, auth, [(f"n{i}.txt", f"note {i} {uuid.uuid4().hex}".encode(), 60) for i in range(101)])
    body = json.loads(r.body)
    assert r.status == 413 and "RAGD_LIMITS__MAX_UPLOAD_FILES" in body["detail"], r.body
    assert documents_total(server, auth) == before and not leftovers(server)
