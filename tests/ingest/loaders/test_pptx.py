"""PPTX: one page per slide, titles as headings, text frames, tables with header cells, speaker notes."""

from __future__ import annotations

import io

import pytest
from pptx import Presentation
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.util import Inches
from tests.ingest.loaders._office_testdata import BILLION_LAUGHS, bomb, deep_xml, rezip

from ragd.errors import DocumentArchiveTooLarge, DocumentEntities, DocumentTooDeep
from ragd.ingest.loaders import PPTX, load_document, sniff_type


def build_pptx() -> bytes:
    prs = Presentation()
    prs.core_properties.title = "Quarterly review"
    s1 = prs.slides.add_slide(prs.slide_layouts[1])  # title and content
    s1.shapes.title.text = "Roadmap"
    s1.placeholders[1].text_frame.text = "Ship the sync feature"
    para = s1.placeholders[1].text_frame.add_paragraph()
    para.text = "Beta in March"
    para.level = 1
    number = next(
        p for p in prs.slide_layouts[1].placeholders if p.placeholder_format.type == PP_PLACEHOLDER.SLIDE_NUMBER
    )
    s1.shapes.clone_placeholder(number)  # slide chrome: left out
    next(p for p in s1.placeholders if p.placeholder_format.type == PP_PLACEHOLDER.SLIDE_NUMBER).text_frame.text = "77"
    s1.notes_slide.notes_text_frame.text = "The public beta of the sync feature starts in March."
    s2 = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    s2.shapes.title.text = "Costs"
    table = s2.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate([("Item", "Cost"), ("Servers", "1200"), ("Licences", "300")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    s3 = prs.slides.add_slide(prs.slide_layouts[6])  # blank: no title
    box = s3.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    box.text_frame.text = "Questions welcome"
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def test_slides_are_pages_with_titles_text_tables_and_notes() -> None:
    data = build_pptx()
    assert sniff_type(data, "deck.bin") == PPTX
    doc = load_document(data, "deck.pptx")
    assert doc.pages == 3 and doc.mime == PPTX and doc.title == "Quarterly review"
    kinds = [(b.kind, b.page, b.text) for b in doc.blocks]
    assert kinds[0] == ("heading", 1, "Slide 1: Roadmap")
    assert ("paragraph", 1, "Ship the sync feature\n  Beta in March") in kinds
    assert ("paragraph", 1, "Speaker notes: The public beta of the sync feature starts in March.") in kinds
    assert ("heading", 2, "Slide 2: Costs") in kinds
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.page == 2 and table.header_lines == 2
    assert table.text == "| Item | Cost |\n|---|---|\n| Servers | 1200 |\n| Licences | 300 |"
    assert table.heading_path == ["Slide 2: Costs"]
    assert ("heading", 3, "Slide 3") in kinds and ("paragraph", 3, "Questions welcome") in kinds
    assert "77" not in doc.text
    for b in doc.blocks:
        assert doc.text[b.start : b.end] == b.text


def test_hostile_pptx_packages_are_refused_with_specific_codes() -> None:
    data = build_pptx()
    with pytest.raises(DocumentArchiveTooLarge, match="zip bomb") as info:
        load_document(bomb(data), "bomb.pptx")
    assert info.value.code == "archive_too_large"
    with pytest.raises(DocumentTooDeep) as deep:
        load_document(rezip(data, {"ppt/slides/slide3.xml": deep_xml(5000)}), "deep.pptx")
    assert deep.value.code == "document_too_deep"
    with pytest.raises(DocumentEntities) as laughs:
        load_document(rezip(data, {"ppt/slides/slide3.xml": BILLION_LAUGHS}), "lol.pptx")
    assert laughs.value.code == "xml_entities_refused"
