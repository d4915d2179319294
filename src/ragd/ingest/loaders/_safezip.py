"""Reading zip-based documents (DOCX, PPTX, XLSX, ODF, EPUB) safely: a bomb guard on the archive, bounded reads
of its entries, and a hardened XML parser (no entities, no network, bounded nesting depth).

The upload-time check (:mod:`ragd.security.archives`) refuses most bombs before anything is stored; this module
is the parser's own guard, since declared sizes can lie and a file can reach a loader by other paths.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from lxml import etree

from ragd.errors import (
    DocumentArchiveTooLarge,
    DocumentCorrupt,
    DocumentEmpty,
    DocumentEncrypted,
    DocumentEntities,
    DocumentTooDeep,
)

from ._limits import current_limits

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR = 10 * 1024 * 1024
MAX_ENTRIES = 10_000
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError, ValueError)


def _parser_kwargs() -> dict[str, bool]:
    return {"resolve_entities": False, "no_network": True, "huge_tree": False, "remove_pis": True, "load_dtd": False}


def check_archive(zf: zipfile.ZipFile, label: str) -> None:
    """Refuse an archive with too many entries, a huge total size or a bomb's compression ratio, or encrypted."""
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise DocumentArchiveTooLarge(f"refused: the {label} holds {len(infos)} entries (limit {MAX_ENTRIES})")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNCOMPRESSED:
        raise DocumentArchiveTooLarge(
            f"refused: the {label} would expand to {total / 1e6:.0f} MB (limit {MAX_UNCOMPRESSED // 2**20} MB); "
            "possible zip bomb"
        )
    if total > RATIO_FLOOR and total / packed > MAX_RATIO:
        raise DocumentArchiveTooLarge(
            f"refused: the {label} compresses {total / packed:.0f}:1 (limit {MAX_RATIO}:1); possible zip bomb"
        )
    if any(i.flag_bits & 0x1 for i in infos):
        raise DocumentEncrypted(f"the {label} archive is encrypted")


@contextmanager
def open_zip(data: bytes, label: str) -> Iterator[zipfile.ZipFile]:
    """The checked archive; zip-level read errors inside the block become ``DocumentCorrupt``."""
    if not data.strip():
        raise DocumentEmpty(f"the {label} file is empty (0 bytes)")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise DocumentCorrupt(f"the {label} is not a readable zip archive: {exc}") from exc
    with zf:
        check_archive(zf, label)
        try:
            yield zf
        except ZIP_ERRORS as exc:
            raise DocumentCorrupt(f"a part of the {label} archive could not be read: {exc}") from exc


def read_entry(zf: zipfile.ZipFile, name: str) -> bytes | None:
    """The bytes of entry ``name`` (``None`` when absent), never more than :data:`MAX_UNCOMPRESSED`."""
    try:
        with zf.open(name) as member:
            raw = member.read(MAX_UNCOMPRESSED + 1)
    except KeyError:
        return None
    if len(raw) > MAX_UNCOMPRESSED:
        raise DocumentArchiveTooLarge(
            f"refused: {name} expands beyond {MAX_UNCOMPRESSED // 2**20} MB; possible zip bomb"
        )
    return raw


def parse_xml(raw: bytes, name: str, *, keep: bool = True) -> etree._Element:
    """Parse ``raw`` with the hardened parser, refusing a DTD that declares entities (``xml_entities_refused``)
    and nesting deeper than ``office.max_xml_depth`` (``document_too_deep``). With ``keep=False`` elements are
    freed as they are read (a scan that keeps only the root)."""
    max_depth = current_limits().max_xml_depth
    depth = 0
    events = etree.iterparse(io.BytesIO(raw), events=("start", "end"), **_parser_kwargs())
    try:
        for event, el in events:
            if event == "start":
                depth += 1
                if depth > max_depth:
                    raise DocumentTooDeep(f"{name} nests XML elements deeper than {max_depth} levels")
            else:
                depth -= 1
                if not keep and depth > 0:
                    el.clear()
        root = events.root
    except etree.XMLSyntaxError as exc:
        if "depth" in str(exc).lower():
            raise DocumentTooDeep(f"{name} nests XML elements too deeply: {exc}") from exc
        if "entit" in str(exc).lower():
            raise DocumentEntities(f"{name} uses XML entities, which are refused: {exc}") from exc
        raise DocumentCorrupt(f"{name} is not well-formed XML: {exc}") from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise DocumentEntities(f"{name} declares XML entities (a possible 'billion laughs' bomb); refused")
    return root


def scan_parts(zf: zipfile.ZipFile) -> None:
    """Check every XML part of a package (depth, entities) before a third-party library parses it."""
    for info in zf.infolist():
        if info.filename.endswith((".xml", ".rels")):
            raw = read_entry(zf, info.filename)
            if raw:
                parse_xml(raw, info.filename, keep=False)


def xml_part(zf: zipfile.ZipFile, name: str) -> etree._Element | None:
    raw = read_entry(zf, name)
    return None if raw is None else parse_xml(raw, name)


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def refuse_ole2(data: bytes, label: str) -> None:
    """An OOXML file saved with a password is an OLE2 wrapper (``EncryptionInfo``/``EncryptedPackage``)."""
    if not data.strip():
        raise DocumentEmpty(f"the {label} file is empty (0 bytes)")
    if data.startswith(OLE2):
        if "EncryptedPackage".encode("utf-16-le") in data[:2_000_000]:
            raise DocumentEncrypted(f"the {label} is password-protected; remove the password and upload it again")
        raise DocumentCorrupt(f"this is a legacy binary Office file, not a {label}")
