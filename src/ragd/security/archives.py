"""Upload-time checks of zip-based documents (DOCX): refuse archive bombs and unsafe entries before anything is
stored or parsed.

Only the central directory is read (the end-of-central-directory record first, so an archive declaring millions
of entries is refused before Python builds one object per entry); no entry is decompressed. Checks, in order:

* entry count ≤ ``max_entries``                          → 413 ``archive_too_large``
* total declared uncompressed size ≤ ``max_uncompressed`` → 413 ``archive_too_large``
* uncompressed/compressed ratio ≤ ``max_ratio``, for the whole archive and for each entry, once the size in
  question exceeds :data:`RATIO_FLOOR` (tiny, very regular XML parts legitimately compress 200:1)
                                                         → 413 ``archive_too_large``
* names: no absolute path, drive letter, backslash, ``..`` component or NUL; no duplicate names; no symbolic
  links                                                  → 422 ``archive_unsafe``

The declared sizes can lie; the DOCX loader therefore also bounds every read it makes (``_ooxml.py``).
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from dataclasses import dataclass

from ragd.errors import ArchiveTooLarge, ArchiveUnsafe

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
RATIO_FLOOR = 1024 * 1024
_EOCD = b"PK\x05\x06"
_CD_HEADER = b"PK\x01\x02"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_entries: int = 5000
    max_uncompressed: int = 200 * 1024 * 1024
    max_ratio: float = 100.0


def is_zip(data: bytes) -> bool:
    return data[:4] in ZIP_MAGICS


def declared_entries(data: bytes) -> int | None:
    """The entry count the end-of-central-directory record declares (zip64 aware), or ``None`` if no record."""
    pos = data.rfind(_EOCD, max(0, len(data) - 65_557))
    if pos < 0 or len(data) < pos + 22:
        return None
    total = struct.unpack_from("<H", data, pos + 10)[0]
    loc = pos - 20
    if total == 0xFFFF and loc >= 0 and data[loc : loc + 4] == _EOCD64_LOCATOR:
        offset = struct.unpack_from("<Q", data, loc + 8)[0]
        if offset + 56 <= len(data) and data[offset : offset + 4] == _EOCD64:
            return int(struct.unpack_from("<Q", data, offset + 32)[0])
    return int(total)


def _unsafe_name(name: str) -> str | None:
    if "\x00" in name:
        return "contains a NUL character"
    if "\\" in name:
        return "contains a backslash"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if ".." in name.split("/"):
        return "climbs out of the archive with '..'"
    return None


def check_zip(data: bytes, limits: ArchiveLimits, *, label: str = "the archive") -> None:
    """Refuse ``data`` (a zip archive) if it is a likely bomb or has unsafe entries; see the module docstring.

    An archive that is not readable as a zip passes: the loader reports it as corrupt, with the reason."""
    # the record's count can lie, so also count central-directory headers (an upper bound, in C, before zipfile
    # would build one object per entry)
    declared = max(declared_entries(data) or 0, data.count(_CD_HEADER))
    if declared > limits.max_entries:
        raise ArchiveTooLarge(f"{label} declares {declared} entries; the limit is {limits.max_entries} "
                              "(RAGD_INGEST__MAX_ARCHIVE_ENTRIES)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return
    if len(infos) > limits.max_entries:
        raise ArchiveTooLarge(f"{label} holds {len(infos)} entries; the limit is {limits.max_entries} "
                              "(RAGD_INGEST__MAX_ARCHIVE_ENTRIES)")
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed:
        raise ArchiveTooLarge(
            f"{label} would expand to {total} bytes; the limit is {limits.max_uncompressed} bytes "
            "(RAGD_INGEST__MAX_ARCHIVE_UNCOMPRESSED_MB): possible zip bomb"
        )
    packed = sum(i.compress_size for i in infos)
    if total > RATIO_FLOOR and total / max(packed, 1) > limits.max_ratio:
        raise ArchiveTooLarge(
            f"{label} compresses {total / max(packed, 1):.0f}:1; the limit is {limits.max_ratio:g}:1 "
            "(RAGD_INGEST__MAX_ARCHIVE_RATIO): possible zip bomb"
        )
    seen: set[str] = set()
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size / max(info.compress_size, 1) > limits.max_ratio:
            raise ArchiveTooLarge(
                f"entry {info.filename!r} of {label} compresses "
                f"{info.file_size / max(info.compress_size, 1):.0f}:1; the limit is {limits.max_ratio:g}:1 "
                "(RAGD_INGEST__MAX_ARCHIVE_RATIO): possible zip bomb"
            )
        problem = _unsafe_name(info.filename)
        if problem:
            raise ArchiveUnsafe(f"entry {info.filename!r} of {label} {problem}")
        if info.filename in seen:
            raise ArchiveUnsafe(f"{label} holds two entries named {info.filename!r}")
        seen.add(info.filename)
        if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
            raise ArchiveUnsafe(f"entry {info.filename!r} of {label} is a symbolic link")
