"""Hardened uploads, over a real `ragd serve`: archive bombs and unsafe archives, size and page limits, type
sniffing (never the name nor the client's content type), and hostile file names that must not write anything
outside the data directory. Every rejection is a 4xx problem with a stable code, and nothing is stored."""

from __future__ import annotations

import io
import os
import stat
import uuid
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.backend import stored_originals
from tests.support import FIXTURES, REPO, Server

from ragd.errors import ArchiveTooLarge, ArchiveUnsafe
from ragd.ingest.files import sanitize_filename
from ragd.security.archives import ArchiveLimits, check_zip, declared_entries

DOCUMENT_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    b"<w:p><w:r><w:t>Hello from a small document.</w:t></w:r></w:p></w:body></w:document>"
)


def make_zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write on purpose
        with zipfile.ZipFile(buf, "w", method) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buf.getvalue()


def docx(*extra: tuple[str | zipfile.ZipInfo, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    return make_zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", DOCUMENT_XML), *extra], method)


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


BOMB = docx(("word/media/image1.bin", b"\0" * 20_000_000))  # 20 MB of zeros in ~20 kB: 1000:1


# -- the archive check itself ------------------------------------------------------------------------------------
def test_real_docx_fixtures_pass_the_default_limits() -> None:
    for path in sorted((FIXTURES / "docx").glob("*.docx")):
        check_zip(path.read_bytes(), ArchiveLimits())


@pytest.mark.parametrize(
    ("data", "limits", "fragment"),
    [
        (BOMB, ArchiveLimits(), "compresses"),
        (docx(("big.bin", os.urandom(3 * 2**20)), method=zipfile.ZIP_STORED), ArchiveLimits(max_uncompressed=2**21),
         "would expand"),
        (docx(*[(f"word/media/{i}.png", b"x") for i in range(60)]), ArchiveLimits(max_entries=50), "entries"),
        (docx(("a.xml", b"<a/>" + b" " * 3_000_000)), ArchiveLimits(max_ratio=50), "compresses"),
    ],
)
def test_bombs_are_too_large(data: bytes, limits: ArchiveLimits, fragment: str) -> None:
    with pytest.raises(ArchiveTooLarge) as err:
        check_zip(data, limits, label="'x.docx'")
    assert err.value.status == 413 and err.value.code == "archive_too_large" and fragment in err.value.detail


def test_entry_count_is_read_before_the_directory_is_parsed() -> None:
    data = docx(*[(f"p/{i}", b"") for i in range(30)])
    assert declared_entries(data) == 32
    lying = bytearray(data)  # the end record claims 2 entries: the headers are still counted
    pos = lying.rfind(b"PK\x05\x06")
    lying[pos + 8 : pos + 12] = (2).to_bytes(2, "little") * 2
    with pytest.raises(ArchiveTooLarge):
        check_zip(bytes(lying), ArchiveLimits(max_entries=10))


@pytest.mark.parametrize(
    "entry",
    [("../../evil.sh", b"x"), ("/etc/cron.d/evil", b"x"), ("C:/Windows/evil.dll", b"x"), ("word\\..\\evil", b"x"),
     ("word/document.xml", b"<dup/>"), (symlink("word/link"), b"/etc/passwd")],
)
def test_unsafe_entries(entry: tuple[str | zipfile.ZipInfo, bytes]) -> None:
    with pytest.raises(ArchiveUnsafe) as err:
        check_zip(docx(entry), ArchiveLimits())
    assert err.value.status == 422 and err.value.code == "archive_unsafe"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("C:\\Windows\\System32\\cmd.exe", "cmd.exe"),
        ("..", "unnamed"),
        ("a\x00b.txt", "a_b.txt"),
        ("bell\x07\x1b[2Jclear.txt", "bell_[2Jclear.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("\u2066iso\u2069late\u200f.md", "isolate.md"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("lpt9.tar.gz", "_lpt9.tar.gz"),
        ("report (final).pdf", "report (final).pdf"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_long_names_are_bounded_in_characters_and_bytes_keeping_the_extension() -> None:
    for name in ("x" * 5000 + ".pdf", "é" * 400 + ".docx", "日本" * 300):
        out = sanitize_filename(name)
        assert len(out) <= 200 and len(out.encode()) <= 240 and out.endswith(name[-5:] if "." in name else "日本")


# -- over HTTP ---------------------------------------------------------------------------------------------------
ENV = {"RAGD_AUTH__ENABLED": "false", "RAGD_INGEST__MAX_UPLOAD_MB": "2", "RAGD_INGEST__MAX_PAGES": "3",
       "RAGD_INGEST__WORKERS": "0"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("uploads") / "data", ENV).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def upload(client: httpx.Client, name: str, data: bytes, content_type: str = "application/octet-stream"):
    return client.post("/api/v1/documents/upload", files={"file": (name, data, content_type)})


def stored_files(server: Server) -> list[Path]:
    return sorted(p for p in (server.data_dir / "files").rglob("*") if p.is_file())


def assert_rejected(server: Server, client: httpx.Client, r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["code"] == code


@pytest.mark.parametrize(
    ("name", "data", "ctype", "status", "code"),
    [
        ("bomb.docx", BOMB, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 413,
         "archive_too_large"),
        ("many.docx", docx(*[(f"word/media/{i}.png", b"x") for i in range(6000)]), "application/zip", 413,
         "archive_too_large"),
        ("slip.docx", docx(("../../../tmp/evil.sh", b"#!/bin/sh\n")), "application/zip", 422, "archive_unsafe"),
        ("big.txt", b"a" * (2 * 2**20 + 1), "text/plain", 413, "payload_too_large"),
        ("long.pdf", (FIXTURES / "pdf" / "multi_page.pdf").read_bytes(), "application/pdf", 422, "too_many_pages"),
        ("report.pdf", b"\x7fELF\x02\x01\x01\x00" + os.urandom(4000), "application/pdf", 415,
         "unsupported_media_type"),
        ("report.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 8, "application/pdf", 415,
         "unsupported_media_type"),
        ("report.pdf", make_zip([("payload.exe", b"MZ" + os.urandom(100))]), "application/pdf", 415,
         "unsupported_media_type"),
        ("drawing.docx", make_zip([("mimetype", b"application/vnd.oasis.opendocument.graphics"),
                                   ("content.xml", b"<x/>")]), "application/msword", 415,
         "unsupported_media_type"),
    ],
    ids=["zip-bomb", "too-many-entries", "zip-slip", "oversize", "too-many-pages", "elf-as-pdf", "exe-as-pdf",
         "zip-as-pdf", "odg-as-docx"],
)
def test_rejected_at_upload_and_nothing_stored(
    server: Server, client: httpx.Client, name: str, data: bytes, ctype: str, status: int, code: str
) -> None:
    before_files, before_total = stored_files(server), client.get("/api/v1/documents").json()["total"]
    r = upload(client, name, data, ctype)
    assert_rejected(server, client, r, status, code)
    assert r.json()["detail"]
    assert stored_files(server) == before_files
    assert client.get("/api/v1/documents").json()["total"] == before_total


def test_type_comes_from_the_content(client: httpx.Client) -> None:
    pdf = (FIXTURES / "pdf" / "code_and_formula.pdf").read_bytes()
    r = upload(client, "notes.txt", pdf, "text/plain")
    assert r.status_code == 201 and r.json()["documents"][0]["mime"] == "application/pdf", r.text
    r = upload(client, "scan.pdf", b"Just words, no PDF header at all.\n", "application/pdf")
    assert r.status_code == 201 and r.json()["documents"][0]["mime"] == "text/plain", r.text
    good = (FIXTURES / "docx" / "word_sample.docx").read_bytes()
    r = upload(client, "word_sample.bin", good, "image/png")
    assert r.status_code == 201 and r.json()["documents"][0]["mime"].endswith("wordprocessingml.document")


def _raw_upload(client: httpx.Client, filename: bytes, data: bytes) -> httpx.Response:
    """A multipart body written by hand, so the file name reaches the server byte for byte (httpx would
    percent-encode control characters)."""
    boundary = b"ragd-test-" + uuid.uuid4().hex.encode()
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="' + filename
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + b"\r\n--" + boundary + b"--\r\n")
    return client.post("/api/v1/documents/upload", content=body,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"})


def test_hostile_names_are_stored_by_id_inside_the_data_dir(server: Server, client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:12]
    names = [
        f"../../escape-{tag}.txt".encode(),
        f"../../../../../../tmp/abs1-{tag}.txt".encode(),
        f"/tmp/abs2-{tag}.txt".encode(),
        f"..\\..\\win-{tag}.txt".encode(),
        f"nul\x00byte-{tag}.txt".encode(),
        f"ctl\x01\x7f-{tag}.txt".encode(),
        f"rtl\u202etxt.exe-{tag}.txt".encode(),
        b"CON",
        ("x" * 3000 + f"-{tag}.txt").encode(),
    ]
    for i, raw in enumerate(names):
        content = f"hostile name test {tag} number {i}\n".encode()
        r = _raw_upload(client, raw, content)
        assert r.status_code == 201, (raw[:60], r.text)
        doc = r.json()["documents"][0]
        shown = doc["filename"]
        assert shown and len(shown) <= 200 and not any(c in shown for c in "/\\\x00\x01\x7f\u202e"), shown
        assert shown not in (".", "..") and shown.upper() != "CON"
        assert stored_originals(server.data_dir, server.store_url)[doc["id"]] == content  # stored by id
        got = client.get(f"/api/v1/documents/{doc['id']}/file")
        assert got.status_code == 200 and got.content == content
        disposition = got.headers["content-disposition"]
        assert "/" not in disposition and "\\" not in disposition
    # nothing named after an upload anywhere but inside the data directory's id-keyed files
    data_root = server.data_dir.resolve()
    escaped = [*server.data_dir.parent.parent.rglob(f"*{tag}*")]
    for base in (REPO, REPO.parent, Path("/tmp"), Path("/")):
        escaped += base.glob(f"*{tag}*")
    assert not escaped, f"files named after an upload escaped: {escaped}"
    assert all(p.resolve().is_relative_to(data_root) for p in stored_files(server))
