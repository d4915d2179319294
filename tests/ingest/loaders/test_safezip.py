"""The shared guard of zip-based documents: archive limits, bounded reads, hardened XML (depth, entities)."""

from __future__ import annotations

import io
import zipfile

import pytest
from tests.ingest.loaders._office_testdata import BILLION_LAUGHS, deep_xml

from ragd.errors import DocumentArchiveTooLarge, DocumentCorrupt, DocumentEncrypted, DocumentEntities, DocumentTooDeep
from ragd.ingest.loaders._limits import LoaderLimits, using_limits
from ragd.ingest.loaders._safezip import MAX_ENTRIES, open_zip, parse_xml


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_depth_limit_is_ours_and_configurable() -> None:
    assert parse_xml(deep_xml(100), "ok.xml").tag == "d"
    with pytest.raises(DocumentTooDeep, match="deeper than 100 levels"):
        parse_xml(deep_xml(101), "x.xml")  # below libxml2's own ceiling (256): our check refuses it
    with using_limits(LoaderLimits(max_xml_depth=20)), pytest.raises(DocumentTooDeep, match="deeper than 20"):
        parse_xml(deep_xml(21), "x.xml")
    with pytest.raises(DocumentTooDeep):
        parse_xml(deep_xml(100_000), "x.xml")


def test_entities_are_refused_and_never_expanded() -> None:
    with pytest.raises(DocumentEntities, match="billion laughs"):
        parse_xml(BILLION_LAUGHS, "lol.xml")
    external = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(DocumentEntities):
        parse_xml(external, "xxe.xml")
    # a DOCTYPE without an internal subset (XHTML in EPUBs has one) is fine
    xhtml = b'<?xml version="1.0"?><!DOCTYPE html><html><body><p>x</p></body></html>'
    assert parse_xml(xhtml, "c.xhtml").tag == "html"


def test_archive_limits() -> None:
    with (
        pytest.raises(DocumentArchiveTooLarge, match="entries"),
        open_zip(_zip({f"f{i}": b"" for i in range(MAX_ENTRIES + 1)}), "ODT"),
    ):
        pass
    with pytest.raises(DocumentCorrupt, match="not a readable zip"), open_zip(b"PK\x03\x04junk", "ODS"):
        pass
    encrypted = bytearray(_zip({"content.xml": b"<x/>"}))
    encrypted[6] |= 0x1  # the local header's "encrypted" flag
    cd = encrypted.rfind(b"PK\x01\x02")
    encrypted[cd + 8] |= 0x1  # and the central directory's
    with pytest.raises(DocumentEncrypted), open_zip(bytes(encrypted), "ODT"):
        pass
