"""A multipart upload read as it arrives: each file part goes to a temporary file on disk and is checked while it
streams, so a refused file costs neither memory nor the rest of the request.

Per file part, in order: the number of files (``limits.max_upload_files``), its size as bytes arrive
(``ingest.max_upload_mb``, 413 the moment it passes), its type from its first 8 KiB once they are in (415 at
once for an image, an executable, unknown binary; zip and OLE2 files need their whole body, so they wait), then,
when the part ends, for a file whose type its first bytes cannot settle (zip, OLE2) or that has pages (PDF), the
full check of :meth:`ragd.ingest.pipeline.IngestService.check` (archive, type, page count) on that one file.
The temporary files live in
``DATA_DIR/uploads/<random>/`` (directory 0700, files 0600, the data directory's own file system, never another's
``/tmp``) and are removed when the request ends, whatever happens.

The body as a whole is capped by :class:`ragd.api.limits.BodyLimitMiddleware`; text fields (``collection``,
``metadata``) by :data:`MAX_FIELD_BYTES` each.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from ragd.errors import BadRequest, PayloadTooLarge, RagdError, ValidationFailed
from ragd.ingest.loaders import PAGE_COUNTERS
from ragd.ingest.loaders.detect import sniff_head

HEAD_BYTES = 8192
MAX_FIELD_BYTES = 64 * 1024
_STALE_S = 24 * 3600.0  # spool directories older than this were left by a process that died mid-upload


@dataclass(slots=True)
class SpooledFile:
    filename: str
    path: Path
    size: int = 0
    mime: str = ""


@dataclass(slots=True)
class UploadForm:
    files: list[SpooledFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Part:
    name: str = ""
    filename: str | None = None
    fd: int = -1
    path: Path | None = None
    size: int = 0
    head: bytearray = field(default_factory=bytearray)
    value: bytearray = field(default_factory=bytearray)
    sniffed: bool = False
    head_type: str | None = None


class _Reader:
    """python-multipart callbacks writing file parts to ``spool`` and checking them as they stream."""

    def __init__(self, spool: Path, *, max_file_bytes: int, max_files: int,
                 check: Callable[[bytes, str], str], file_fields: tuple[str, ...] = ("file",)) -> None:
        self.spool, self.max_file_bytes, self.max_files = spool, max_file_bytes, max_files
        self.check = check
        self.file_fields = file_fields
        self.form = UploadForm()
        self.part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""

    # -- headers -------------------------------------------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.part = _Part()
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        if len(self._header_value) > MAX_FIELD_BYTES:
            raise BadRequest("a multipart header is too long")

    def on_header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise BadRequest('every multipart part needs a Content-Disposition with a "name"')
        self.part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options and self.part.name in self.file_fields:
            if len(self.form.files) >= self.max_files:
                raise PayloadTooLarge(f"an upload holds at most {self.max_files} files "
                                      "(RAGD_LIMITS__MAX_UPLOAD_FILES)")
            self.part.filename = options[b"filename"].decode("utf-8", "replace") or "unnamed"
            fd, name = tempfile.mkstemp(dir=self.spool, prefix="part-")  # mode 0600
            self.part.fd, self.part.path = fd, Path(name)

    # -- data ----------------------------------------------------------------------------------------------------
    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        part = self.part
        if part.path is None:  # a text field (or a part ragd ignores)
            part.value += chunk
            if len(part.value) > MAX_FIELD_BYTES:
                # the schema bounds these fields (maxLength), so this is a validation error, not a 413
                raise ValidationFailed(f"{part.name}: the form field is longer than {MAX_FIELD_BYTES} bytes")
            return
        part.size += len(chunk)
        if part.size > self.max_file_bytes:
            raise PayloadTooLarge(
                f"{part.filename!r} is larger than the {self.max_file_bytes}-byte limit (RAGD_INGEST__MAX_UPLOAD_MB)"
            )
        if not part.sniffed:
            part.head += chunk[: HEAD_BYTES - len(part.head)]
            if len(part.head) >= HEAD_BYTES:
                self._sniff(part)
        view = memoryview(chunk)
        while view:
            view = view[os.write(part.fd, view):]

    def _sniff(self, part: _Part) -> None:
        part.sniffed = True
        # 415 now for what the first bytes already show; the type when they decide it
        part.head_type = sniff_head(bytes(part.head), part.filename or "")

    def on_part_end(self) -> None:
        part = self.part
        if part.path is None:
            if part.name in ("collection", "metadata"):
                self.form.fields[part.name] = part.value.decode("utf-8", "replace")
            return
        os.close(part.fd)
        part.fd = -1
        if not part.sniffed:
            self._sniff(part)
        spooled = SpooledFile(part.filename or "unnamed", part.path, part.size)
        if part.head_type is None or part.head_type in PAGE_COUNTERS:
            # zip, OLE2 and PDF files need their whole body (archive directory, page count): this file only
            spooled.mime = self.check(part.path.read_bytes(), spooled.filename)
        else:
            spooled.mime = part.head_type  # text-like: the first bytes decided, the size was checked on the way
        self.form.files.append(spooled)

    def on_end(self) -> None:
        pass

    def close(self) -> None:
        if self.part.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.part.fd)
            self.part.fd = -1


def spool_root(data_dir: Path) -> Path:
    root = data_dir / "uploads"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    cutoff = time.time() - _STALE_S
    for old in root.iterdir():
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
    return root


@contextlib.asynccontextmanager
async def spool_dir(data_dir: Path) -> AsyncIterator[Path]:
    """A private directory for one request's files, removed with everything in it when the request ends."""
    root = await run_in_threadpool(spool_root, data_dir)
    path = Path(await run_in_threadpool(tempfile.mkdtemp, "", "upload-", str(root)))  # mode 0700
    try:
        yield path
    finally:
        await run_in_threadpool(shutil.rmtree, path, True)


async def read_upload(request: Request, spool: Path, *, max_file_bytes: int, max_files: int,
                      check: Callable[[bytes, str], str], file_fields: tuple[str, ...] = ("file",)) -> UploadForm:
    """Parse the request's multipart body into ``spool``; raises a 4xx :class:`ragd.errors.RagdError` at the
    first part refused (the rest of the body is never read). File parts are those named in ``file_fields``."""
    names = " or ".join(repr(n) for n in file_fields)
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise ValidationFailed(f"the body must be multipart/form-data with one or more file parts named {names}")
    reader = _Reader(spool, max_file_bytes=max_file_bytes, max_files=max_files, check=check, file_fields=file_fields)
    callbacks = {name: getattr(reader, name) for name in (
        "on_part_begin", "on_part_data", "on_part_end", "on_header_field", "on_header_value", "on_header_end",
        "on_headers_finished", "on_end")}
    parser = MultipartParser(params[b"boundary"], callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            if chunk:
                # Disk writes and the per-file check run off the event loop.
                await run_in_threadpool(parser.write, chunk)
        await run_in_threadpool(parser.finalize)
    except ClientDisconnect as exc:
        raise BadRequest("the client closed the connection before the upload ended") from exc
    except RagdError:
        raise
    except ValueError as exc:  # python-multipart's own errors derive from ValueError
        raise BadRequest(f"malformed multipart body: {exc}") from exc
    finally:
        reader.close()
    if not reader.form.files:
        raise ValidationFailed(f"file: at least one file part named {names} is required")
    return reader.form
