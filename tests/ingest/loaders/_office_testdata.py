"""Helpers for the office-format loader tests: hostile variants of a real package, and a minimal OLE2 file."""

from __future__ import annotations

import io
import struct
import zipfile

BOMB_BYTES = 25 * 1024 * 1024  # zeros: deflate packs them ~1000:1, past the loaders' 100:1 ratio limit

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>'
)


def deep_xml(depth: int, tag: str = "d") -> bytes:
    """Well-formed XML ``depth`` elements deep."""
    return b'<?xml version="1.0"?>' + f"<{tag}>".encode() * depth + f"</{tag}>".encode() * depth


def rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """A copy of the zip ``data`` with entries replaced (or added), compressed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in replace:
                dst.writestr(info.filename, src.read(info.filename))
        for name, payload in replace.items():
            dst.writestr(name, payload)
    return out.getvalue()


def bomb(data: bytes, name: str = "padding.bin") -> bytes:
    return rezip(data, {name: bytes(BOMB_BYTES)})


_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name: str, kind: int, start: int, size: int, child: int = _NOSTREAM, right: int = _NOSTREAM) -> bytes:
    raw = name.encode("utf-16-le") + b"\x00\x00" if name else b""
    return (
        raw.ljust(64, b"\x00")
        + struct.pack("<HBB", len(raw), kind, 1)  # name length, type, colour (black)
        + struct.pack("<III", _NOSTREAM, right, child)  # left sibling, right sibling, child
        + bytes(16 + 4 + 8 + 8)  # CLSID, state bits, creation and modification times
        + struct.pack("<IQ", start, size)
    )


def ole2(streams: dict[str, bytes]) -> bytes:
    """A compound file (MS-CFB version 3, 512-byte sectors) holding ``streams`` in its root storage. Streams are
    padded to 4096 bytes so that all live in regular sectors (no mini stream): enough for a sniffer to read."""
    sectors: list[bytes] = []
    fat = [_FATSECT, _END]  # sector 0: the FAT; sector 1: the directory
    entries: list[bytes] = []
    names = list(streams)
    for i, name in enumerate(names):
        payload = streams[name].ljust(4096, b"\x00")
        count = -(-len(payload) // 512)
        start = 2 + len(sectors)
        for k in range(count):
            sectors.append(payload[k * 512 : (k + 1) * 512].ljust(512, b"\x00"))
            fat.append(start + k + 1 if k < count - 1 else _END)
        entries.append(_dir_entry(name, 2, start, len(payload), right=i + 2 if i + 1 < len(names) else _NOSTREAM))
    assert len(fat) <= 128 and len(entries) <= 3
    root = _dir_entry("Root Entry", 5, _END, 0, child=1 if names else _NOSTREAM)
    directory = b"".join([root, *entries]).ljust(512, b"\x00")
    for i in range(len(entries) + 1, 4):  # unused directory slots
        directory = directory[: i * 128] + _dir_entry("", 0, 0, 0) + directory[(i + 1) * 128 :]
    fat_sector = b"".join(struct.pack("<I", v) for v in fat + [_FREE] * (128 - len(fat)))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", _FREE) * 108
    )
    assert len(header) == 512
    return header + fat_sector + directory + b"".join(sectors)
