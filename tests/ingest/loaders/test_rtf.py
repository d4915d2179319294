"""RTF: paragraphs, escaped characters, destinations left out; deep group nesting is no threat."""

from __future__ import annotations

import pytest

from ragd.errors import DocumentEmpty
from ragd.ingest.loaders import RTF, load_document, sniff_type

DOC = (
    rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times New Roman;}}{\*\generator Writer;}"
    rb"{\info{\title Minutes}}\pard\b Minutes of the meeting\b0\par"
    rb" Caf\'e9 cr\u232?me was served.\par\par "
    rb"\trowd\cellx2000\cellx4000 Budget\cell 1200\cell\row}"
)


def test_rtf_paragraphs_and_escapes() -> None:
    assert sniff_type(DOC, "minutes.txt") == RTF
    doc = load_document(DOC, "minutes.rtf")
    assert doc.mime == RTF and doc.pages is None
    assert [b.text for b in doc.blocks] == [
        "Minutes of the meeting",
        "Café crème was served.",
        "Budget|1200|",
    ]
    assert "Times New Roman" not in doc.text and "Writer" not in doc.text


def test_deeply_nested_and_empty_rtf() -> None:
    deep = b"{\\rtf1 " + b"{" * 100_000 + b"inside" + b"}" * 100_000 + b"}"
    assert load_document(deep, "deep.rtf").text == "inside"
    with pytest.raises(DocumentEmpty):
        load_document(rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}}", "blank.rtf")
