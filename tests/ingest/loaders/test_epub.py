"""EPUB, built with ebooklib: chapters in spine order through the HTML walker; hostile packages refused."""

from __future__ import annotations

import io

import pytest
from ebooklib import epub
from tests.ingest.loaders._office_testdata import BILLION_LAUGHS, bomb, deep_xml, rezip

from ragd.errors import DocumentArchiveTooLarge, DocumentEncrypted, DocumentEntities, DocumentTooDeep
from ragd.ingest.loaders import EPUB, load_document, sniff_type


def build_epub() -> bytes:
    book = epub.EpubBook()
    book.set_identifier("ragd-test-book")
    book.set_title("The Lighthouse")
    book.set_language("en")
    c1 = epub.EpubHtml(title="Arrival", file_name="ch1.xhtml", lang="en")
    c1.content = "<h1>Arrival</h1><p>The keeper lit the lamp at dusk.</p><ul><li>oil</li><li>wick</li></ul>"
    c2 = epub.EpubHtml(title="The Storm", file_name="ch2.xhtml", lang="en")
    c2.content = (
        "<p>Waves rose over the rocks.</p>"
        "<table><tr><th>Day</th><th>Wind</th></tr><tr><td>Monday</td><td>Gale</td></tr></table>"
    )
    for chapter in (c1, c2):
        book.add_item(chapter)
    book.toc = [c1, c2]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", c2, c1]  # reading order: chapter 2 first, on purpose
    buf = io.BytesIO()
    epub.write_epub(buf, book)
    return buf.getvalue()


def test_chapters_in_spine_order_with_headings_lists_and_tables() -> None:
    data = build_epub()
    assert sniff_type(data, "book.zip") == EPUB
    doc = load_document(data, "book.epub")
    assert doc.title == "The Lighthouse" and doc.mime == EPUB
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "The Storm"),  # no heading in the chapter: its <title>
        ("paragraph", "Waves rose over the rocks."),
        ("table", "| Day | Wind |\n|---|---|\n| Monday | Gale |"),
        ("heading", "Arrival"),
        ("paragraph", "The keeper lit the lamp at dusk."),
        ("list", "- oil\n- wick"),
    ]
    assert doc.blocks[2].heading_path == ["The Storm"]


def test_hostile_and_encrypted_epubs_are_refused() -> None:
    data = build_epub()
    with pytest.raises(DocumentArchiveTooLarge):
        load_document(bomb(data, "EPUB/pad.bin"), "bomb.epub")
    with pytest.raises(DocumentTooDeep):
        load_document(rezip(data, {"EPUB/ch1.xhtml": deep_xml(300, "div")}), "deep.epub")
    with pytest.raises(DocumentEntities):
        load_document(rezip(data, {"EPUB/ch1.xhtml": BILLION_LAUGHS}), "lol.epub")
    drm = rezip(data, {"META-INF/encryption.xml": b'<encryption><CipherReference URI="EPUB/ch1.xhtml"/></encryption>'})
    with pytest.raises(DocumentEncrypted, match="DRM"):
        load_document(drm, "drm.epub")
