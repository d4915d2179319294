"""Legacy binary Office files (.doc, .ppt, .xls: OLE2 compound files) are refused with 415 ``legacy_format`` and
the conversion to make; an encrypted OOXML file (also OLE2) stays ``document_encrypted``."""

from __future__ import annotations

import io

import olefile
import pytest
from tests.ingest.loaders._office_testdata import ole2
from tests.ingest.loaders.test_pptx import build_pptx

from ragd.errors import DocumentEncrypted, LegacyFormat
from ragd.ingest.loaders import PPTX, load_document, sniff_type


@pytest.mark.parametrize(
    ("streams", "name", "target"),
    [
        ({"WordDocument": b"\xec\xa5", "1Table": b""}, "report.doc", "docx"),
        ({"PowerPoint Document": b"", "Current User": b""}, "deck.ppt", "pptx"),
        ({"Workbook": b"\x09\x08"}, "sheet.xls", "xlsx"),
    ],
)
def test_legacy_office_files_name_the_conversion(streams: dict[str, bytes], name: str, target: str) -> None:
    data = ole2(streams)
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)  # a valid compound file
    assert sorted(e[0] for e in ole.listdir()) == sorted(streams)
    with pytest.raises(LegacyFormat) as info:
        sniff_type(data, name)
    assert info.value.status == 415 and info.value.code == "legacy_format"
    assert f"soffice --headless --convert-to {target}" in info.value.detail
    with pytest.raises(LegacyFormat):
        sniff_type(data, "renamed.txt")  # the content decides, not the name


def test_encrypted_pptx_is_document_encrypted() -> None:
    data = ole2({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": build_pptx()[:2000]})
    assert sniff_type(data, "secret.pptx") == PPTX
    with pytest.raises(DocumentEncrypted, match="password"):
        load_document(data, "secret.pptx")
