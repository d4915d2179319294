"""Per-format behaviour of the loaders on real fixtures and on small documents built here."""

from __future__ import annotations

import io
import zipfile

import pytest
from tests.ingest.loaders._loader_testdata import FIXTURES, GROUNDTRUTH, assert_offsets

from ragd.errors import (
    DocumentCorrupt,
    DocumentEmpty,
    DocumentEncrypted,
    DocumentError,
    TooManyPages,
)
from ragd.ingest.loaders import DOCX, HTML, LOADERS, MARKDOWN, PDF, TEXT, load_document
from ragd.ingest.loaders._ooxml import MAX_UNCOMPRESSED

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _docx(body: str, extra: dict[str, bytes] | None = None) -> bytes:
    xml = f'<?xml version="1.0"?><w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", xml)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def _p(text: str, style: str | None = None) -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{ppr}<w:r><w:t>{text}</w:t></w:r></w:p>"


# -- PDF -------------------------------------------------------------------------------------------------


def _block_with(doc, phrase: str):  # type: ignore[no-untyped-def]
    return next(b for b in doc.blocks if phrase in b.text)


def test_pdf_phrases_are_on_their_pages() -> None:
    doc = load_document((FIXTURES / "pdf/multi_page.pdf").read_bytes(), "multi_page.pdf")
    truth = (GROUNDTRUTH / "multi_page.docling.md").read_text()
    for phrase, page in [
        ("The Evolution of the Word Processor", 1),
        ("Specialized Word Processing Tools", 3),
        ("The Cultural Impact of Word Processors", 3),
    ]:
        assert phrase in truth
        assert _block_with(doc, phrase).page == page
    assert doc.pages == 5 and doc.mime == PDF


def test_pdf_french_text_and_metadata_title() -> None:
    doc = load_document((FIXTURES / "pdf-fr/2023-06-20-PV.pdf").read_bytes(), "pv.pdf")
    assert doc.title == "Comité de démolition - Procès-verbal de la séance publique du 20 juin 2023"
    assert "é" in doc.text and doc.pages == 2


def test_pdf_transcript_page_matches_pdfplumber_text() -> None:
    doc = load_document((FIXTURES / "pdf/scotus-transcript-p1.pdf").read_bytes(), "t.pdf")
    truth = " ".join((GROUNDTRUTH / "scotus-transcript-p1.pdfplumber.txt").read_text().split())
    for phrase in ["IN THE SUPREME COURT OF THE UNITED STATES", "MICHAEL A. KNOWLES", "Alderson Reporting"]:
        assert phrase in truth
        assert _block_with(doc, phrase).page == 1


def test_pdf_paragraphs_follow_the_layout() -> None:
    doc = load_document((FIXTURES / "pdf/multi_page.pdf").read_bytes(), "multi_page.pdf")
    first = doc.blocks[0]
    assert first.text == "The Evolution of the Word Processor"  # a heading line, split by size and gap
    assert len(doc.blocks) > 20


def test_pdf_max_pages() -> None:
    data = (FIXTURES / "pdf/DA-619p.pdf").read_bytes()
    with pytest.raises(TooManyPages, match="619 pages; the limit is 500"):
        load_document(data, "DA.pdf", max_pages=500)
    assert load_document((FIXTURES / "pdf/multi_page.pdf").read_bytes(), "m.pdf", max_pages=5).pages == 5


@pytest.mark.parametrize("cut", [20, 1000, 50_000])
def test_truncated_pdf_is_a_document_error(cut: int) -> None:
    data = (FIXTURES / "pdf/multi_page.pdf").read_bytes()[:cut]
    try:
        doc = load_document(data, "cut.pdf")
    except DocumentError:
        return
    assert_offsets(doc)  # PDFium may recover some pages: then the contract still holds


def test_pdf_whitespace_only_is_empty() -> None:
    with pytest.raises(DocumentEmpty):
        load_document(b"   \n", "x.pdf", mime=PDF)


# -- DOCX ------------------------------------------------------------------------------------------------


def test_docx_headings_match_groundtruth() -> None:
    doc = load_document((FIXTURES / "docx/unit_test_headers.docx").read_bytes(), "h.docx")
    assert_offsets(doc)
    truth = (GROUNDTRUTH / "unit_test_headers.docx.docling.md").read_text()
    expected = [
        (len(line) - len(line.lstrip("#")), line.lstrip("# "))
        for line in truth.split("\n")
        if line.startswith("#")
    ]
    assert [(b.level, b.text) for b in doc.blocks if b.kind == "heading"] == expected
    assert doc.title == "Test Document"
    para = next(b for b in doc.blocks if b.text == "Paragraph 1.2.3.1")
    assert para.heading_path == ["Test Document", "Section 1", "Section 1.2", "Section 1.2.3"]


def test_docx_lists_and_order() -> None:
    doc = load_document((FIXTURES / "docx/word_sample.docx").read_bytes(), "w.docx")
    lists = [b.text for b in doc.blocks if b.kind == "list"]
    assert lists[0] == "- You can relax and look around\n- Paddle about\n- Enjoy summer warmth"
    assert lists[1] == "1. Wear sunglasses\n2. Don’t forget to drink water\n3. Use sun cream"
    kinds = [b.kind for b in doc.blocks]
    assert kinds.index("table") < len(kinds) - 1  # the table sits in body order, before the last list


def test_strict_ooxml_is_read() -> None:
    doc = load_document((FIXTURES / "docx/Strict.docx").read_bytes(), "Strict.docx")
    assert doc.text == "Some text" and doc.mime == DOCX


def test_docx_textbox_text_is_kept() -> None:
    doc = load_document((FIXTURES / "docx/textbox.docx").read_bytes(), "t.docx")
    assert "Infectious Disease Reporting Procedure" in doc.text
    assert doc.text.count("Student falls ill") == 1  # the VML fallback copy is not repeated


def test_synthetic_docx_styles_tables_and_merges() -> None:
    styles = (
        f'<w:styles xmlns:w="{W}"><w:style w:styleId="T"><w:name w:val="Title"/></w:style>'
        f'<w:style w:styleId="H2"><w:name w:val="heading 2"/></w:style></w:styles>'
    )
    table = (
        "<w:tbl><w:tr><w:tc>" + _p("a|b") + "</w:tc><w:tc>" + _p("c") + "</w:tc></w:tr>"
        '<w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p><w:r><w:t>wide</w:t><w:br/><w:t>cell</w:t>'
        "</w:r></w:p></w:tc></w:tr></w:tbl>"
    )
    data = _docx(
        _p("My Title", "T") + _p("Part", "H2") + _p("Body") + table, {"word/styles.xml": styles.encode()}
    )
    doc = load_document(data, "s.docx")
    assert_offsets(doc)
    assert doc.title == "My Title"
    assert [(b.kind, b.level) for b in doc.blocks] == [
        ("heading", 1),
        ("heading", 3),  # "heading 2" under a Title
        ("paragraph", 0),
        ("table", 0),
    ]
    assert doc.blocks[3].text == "| a\\|b | c |\n|---|---|\n| wide cell | wide cell |"
    assert doc.blocks[3].heading_path == ["My Title", "Part"]


def test_docx_zip_bomb_is_refused() -> None:
    bomb = _docx(_p("x"), {"word/media/padding.bin": b"\x00" * (MAX_UNCOMPRESSED // 8)})
    with pytest.raises(DocumentCorrupt, match=r"compresses \d+:1.*zip bomb"):
        load_document(bomb, "bomb.docx")


def test_docx_without_text_is_empty_and_broken_xml_is_corrupt() -> None:
    with pytest.raises(DocumentEmpty, match="no text"):
        load_document(_docx("<w:p/>"), "e.docx")
    broken = _docx("<w:p><w:r><w:t>x</w:t></w:r>")  # an unclosed paragraph
    with pytest.raises(DocumentCorrupt):
        load_document(broken, "b.docx", mime=DOCX)
    with pytest.raises(DocumentCorrupt, match="zip"):
        load_document(b"PK\x03\x04 truncated", "t.docx")


def test_encrypted_docx_container() -> None:
    ole = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(300) + "EncryptedPackage".encode("utf-16-le") + bytes(50)
    )
    with pytest.raises(DocumentEncrypted, match="password"):
        load_document(ole, "secret.docx")


# -- HTML ------------------------------------------------------------------------------------------------


def test_html_prefers_main_and_drops_chrome() -> None:
    html = b"""<html><head><title>Site</title><style>p{}</style><script>var x = 1;</script></head><body>
    <nav><a href="/">Home</a></nav><header>Site banner</header>
    <main><h1>Article</h1><p>First <b>bold</b> para.</p><aside>Ad</aside><form>Search</form>
    <h2>Code</h2><pre>  indented\n    code</pre><ul><li>one<ul><li>two</li></ul></li></ul>
    <noscript>enable js</noscript></main><footer>Copyright</footer></body></html>"""
    doc = load_document(html, "page.html")
    assert_offsets(doc)
    assert doc.mime == HTML and doc.title == "Article"
    for noise in ["Home", "Site banner", "Ad", "Search", "var x", "enable js", "Copyright"]:
        assert noise not in doc.text
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Article"),
        ("paragraph", "First bold para."),
        ("heading", "Code"),
        ("code", "  indented\n    code"),
        ("list", "- one\n  - two"),
    ]


def test_html_charset_from_meta() -> None:
    html = '<html><head><meta charset="iso-8859-1"><title>Café</title></head><body><p>Noël à Paris</p>'
    doc = load_document(html.encode("latin-1"), "p.html")
    assert doc.text == "Noël à Paris" and doc.title == "Café"


def test_html_wikipedia_page() -> None:
    doc = load_document((FIXTURES / "html/wiki_duck.html").read_bytes(), "wiki_duck.html")
    assert doc.title == "Duck"
    headings = [b.text for b in doc.blocks if b.kind == "heading"]
    assert {"Etymology", "Taxonomy", "Morphology"} <= set(headings)
    assert "mw.config" not in doc.text


# -- Markdown and text -----------------------------------------------------------------------------------


def test_markdown_structure() -> None:
    md = (
        "---\ntitle: x\n---\nIntro line\n\nSetext Title\n============\n\n## Section\n\ntext one\ntext two\n\n"
        "```py\nprint('#not a heading')\n```\n\n| a | b |\n|:--|--:|\n| 1 | 2 \\| 3 |\n\n"
        "- item\n  - sub\n- item 2\n"
    )
    doc = load_document(md.encode(), "r.md")
    assert_offsets(doc)
    assert doc.mime == MARKDOWN and doc.title == "Setext Title"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "Intro line"),
        ("heading", "Setext Title"),
        ("heading", "Section"),
        ("paragraph", "text one\ntext two"),
        ("code", "```py\nprint('#not a heading')\n```"),
        ("table", "| a | b |\n|---|---|\n| 1 | 2 \\| 3 |"),
        ("list", "- item\n  - sub\n- item 2"),
    ]
    assert doc.blocks[-1].heading_path == ["Setext Title", "Section"]


@pytest.mark.parametrize(
    "data",
    [
        "Première ligne, été.\n\nDeuxième paragraphe — fin.".encode(),
        "\ufeffPremière ligne, été.\n\nDeuxième paragraphe — fin.".encode(),
        "Première ligne, été.\r\n\r\nDeuxième paragraphe — fin.".encode("utf-16"),
        "Première ligne, été.\n\nDeuxième paragraphe — fin.".encode("cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "cp1252"],
)
def test_text_encodings(data: bytes) -> None:
    doc = load_document(data, "notes.txt")
    assert doc.mime == TEXT
    assert [b.text for b in doc.blocks] == ["Première ligne, été.", "Deuxième paragraphe — fin."]


def test_latin1_text_is_detected() -> None:
    text = "Le conseil municipal a décidé à l'unanimité que la fête aura lieu près du lac. " * 5
    doc = load_document(text.encode("latin-1"), "pv.txt")
    assert "décidé à l'unanimité" in doc.text


@pytest.mark.parametrize("mime", sorted(LOADERS))
def test_every_loader_rejects_empty_input(mime: str) -> None:
    with pytest.raises(DocumentEmpty):
        load_document(b"", "empty", mime=mime)
    if mime not in (PDF, DOCX):
        with pytest.raises(DocumentEmpty):
            load_document(b" \n\t \r\n ", "blank", mime=mime)


@pytest.mark.parametrize("mime", sorted(LOADERS))
def test_every_loader_survives_garbage(mime: str) -> None:
    junk = bytes(range(256)) * 8
    try:
        doc = load_document(junk, "junk", mime=mime)
    except DocumentError:
        return
    assert_offsets(doc)
