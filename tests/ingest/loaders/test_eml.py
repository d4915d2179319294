"""The EML loader: sniffed from its RFC 822 headers, headers as metadata and a heading block, the body (text/plain,
else text/html through the HTML loader), attachments handed to the pipeline; bad input → a document error."""

from __future__ import annotations

import pytest
from tests.ingest.mailfiles import attach, mail, nested

from ragd.errors import DocumentCorrupt, DocumentEmpty, NestingTooDeep, TooManyAttachments
from ragd.ingest.loaders import EML, TEXT, load_document, sniff_type
from ragd.ingest.loaders.detect import is_mail
from ragd.ingest.loaders.eml import MAX_PARTS


def test_sniffed_from_its_headers_whatever_the_name() -> None:
    data = mail().as_bytes()
    assert sniff_type(data, "message.eml") == EML
    assert sniff_type(data, "saved.txt") == EML
    assert sniff_type(data, "upload") == EML


def test_sniffed_from_a_head_cut_inside_a_long_header_block() -> None:
    for pad in range(0, 80, 7):  # the 8 KiB head ends at a different place of a header line each time
        m = mail()
        m["X-Pad"] = "p" * (pad + 1)
        for i in range(200):
            m["Received"] = f"from relay{i}.example.org by mx.example.org with ESMTPS id {i:08d}"
        data = m.as_bytes()
        assert len(data) > 8192 and sniff_type(data, "upload") == EML, pad


@pytest.mark.parametrize("text", [
    "From: a note\nThis is just a sentence about the From: header.\n",  # not headers up to a blank line
    "Subject: minutes\nDate: Monday\n\nOnly two known headers and neither From, Message-ID nor MIME-Version.\n",
    "Title: notes\nAuthor: me\nTags: x\n\nbody\n",  # header-like, not mail
])
def test_text_that_only_resembles_headers_stays_text(text: str) -> None:
    assert not is_mail(text)
    assert sniff_type(text.encode(), "notes.txt") == TEXT


def test_headers_become_metadata_and_a_heading_block() -> None:
    doc = load_document(mail().as_bytes(), "mail.eml")
    assert doc.mime == EML and doc.title == "Quarterly report"
    assert doc.metadata["mail_from"] == "Alice Martin <alice@example.org>"
    assert doc.metadata["mail_to"] == "Bob <bob@example.org>" and doc.metadata["mail_cc"] == "carol@example.org"
    assert doc.metadata["mail_subject"] == "Quarterly report" and doc.metadata["mail_message_id"].startswith("<")
    assert doc.metadata["mail_date"] == "Tue, 01 Dec 2026 10:00:00 +0000"
    heading, headers, *body = doc.blocks
    assert heading.kind == "heading" and heading.text == "Quarterly report"
    assert headers.text.splitlines()[0] == "From: Alice Martin <alice@example.org>" and "Date: Tue" in headers.text
    assert [b.text for b in body] == ["Hello Bob,", "The figures are attached.", "Alice"]
    assert all(b.heading_path == ["Quarterly report"] for b in body)
    assert doc.text[body[0].start:body[0].end] == "Hello Bob,"
    assert "base64" not in doc.text and doc.attachments == []


def test_plain_body_is_preferred_to_its_html_alternative() -> None:
    doc = load_document(mail(html="<p>HTML version only</p>").as_bytes(), "mail.eml")
    assert "The figures are attached." in doc.text and "HTML version only" not in doc.text


def test_html_only_body_goes_through_the_html_loader() -> None:
    html = ("<html><body><nav>Home | Inbox</nav><h1>Budget</h1><p>Spend <b>less</b> on paper.</p>"
            "<table><tr><th>Item</th><th>Cost</th></tr><tr><td>Paper</td><td>12</td></tr></table>"
            "<script>alert(1)</script></body></html>")
    doc = load_document(mail(body=None, html=html).as_bytes(), "mail.eml")
    kinds = [(b.kind, b.text) for b in doc.blocks]
    assert ("heading", "Budget") in kinds and ("paragraph", "Spend less on paper.") in kinds
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.text.splitlines()[0] == "| Item | Cost |" and table.header_lines == 2
    assert "alert" not in doc.text and "Inbox" not in doc.text and "<p>" not in doc.text
    budget = next(b for b in doc.blocks if b.text == "Budget")
    assert budget.level == 2 and budget.heading_path == ["Quarterly report", "Budget"]


def test_encoded_words_and_quoted_printable_are_decoded() -> None:
    raw = ("From: =?utf-8?q?Ren=C3=A9e_L=C3=A9vy?= <renee@example.fr>\r\nTo: bob@example.org\r\n"
           "Subject: =?utf-8?b?UsOpdW5pb24gZGUgYnVkZ2V0?=\r\nDate: Tue, 01 Dec 2026 10:00:00 +0100\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\nLe budget est valid=C3=A9 pour d=C3=A9cembre.\r\n")
    doc = load_document(raw.encode(), "mail.eml")
    assert doc.metadata["mail_from"] == "Renée Lévy <renee@example.fr>"
    assert doc.title == "Réunion de budget" and "Le budget est validé pour décembre." in doc.text


def test_undeclared_8bit_headers_and_body_are_decoded_not_lost() -> None:
    raw = ("From: René Lévy <renee@example.fr>\r\nTo: bob@example.org\r\nSubject: Café crème à l'été\r\n"
           "Message-ID: <1@example.fr>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0100\r\n\r\n"
           "Le café est prêt pour la réunion de décembre, à côté de la fenêtre.\r\n").encode("cp1252")
    doc = load_document(raw, "mail.eml")
    assert doc.metadata["mail_from"] == "René Lévy <renee@example.fr>"
    assert doc.title == "Café crème à l'été" and "\ufffd" not in doc.text
    assert "Le café est prêt pour la réunion de décembre" in doc.text


def test_attachments_are_handed_over_decoded_and_named_in_the_text() -> None:
    m = attach(mail(), b"region,total\nnorth,12\n", "figures.csv", "text/csv")
    attach(m, b"\x89PNG\r\n\x1a\n" + bytes(64), "logo.png", "image/png")
    attach(m, mail("Forwarded minutes", "The minutes say the roof is fixed."))
    doc = load_document(m.as_bytes(), "mail.eml")
    names = [a.filename for a in doc.attachments]
    assert names == ["figures.csv", "logo.png", "Forwarded minutes.eml"]
    assert doc.attachments[0].data == b"region,total\nnorth,12\n" and doc.attachments[0].declared_mime == "text/csv"
    assert doc.attachments[1].data.startswith(b"\x89PNG")
    inner = load_document(doc.attachments[2].data, "Forwarded minutes.eml")
    assert inner.title == "Forwarded minutes" and "the roof is fixed" in inner.text
    assert "Attachments: figures.csv, logo.png, Forwarded minutes.eml" in doc.text
    assert "the roof is fixed" not in doc.text  # the attached message is its own document


def test_deep_nesting_is_one_level_per_document() -> None:
    doc = load_document(nested(30).as_bytes(), "deep.eml")
    assert [a.filename for a in doc.attachments] == ["Level 1.eml"] and "vault code" not in doc.text


def test_a_message_of_thousands_of_tiny_parts_is_refused_before_it_is_parsed() -> None:
    head = (b"From: a@x\r\nTo: b@x\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n')
    parts = b"".join(b'--zz\r\nContent-Disposition: attachment; filename="f%d.bin"\r\n\r\nx\r\n' % i
                     for i in range(MAX_PARTS + 1))
    with pytest.raises(TooManyAttachments):
        load_document(head + parts + b"--zz--\r\n", "many.eml")


def test_messages_nested_thousands_deep_inside_one_file_are_refused() -> None:
    level = b"From: a@x\r\nTo: b@x\r\nSubject: deep\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n"
    with pytest.raises(NestingTooDeep):
        load_document(level * 3000 + b"From: a@x\r\nSubject: end\r\n\r\nhello\r\n", "deep.eml")


def test_the_text_names_fifty_attachments_at_most() -> None:
    m = mail()
    for i in range(60):
        attach(m, b"x%d" % i, f"f{i}.bin")
    doc = load_document(m.as_bytes(), "mail.eml")
    assert len(doc.attachments) == 60 and doc.text.endswith("f49.bin and 10 more")


@pytest.mark.parametrize(("data", "error"), [
    (b"", DocumentEmpty),
    (b"   \r\n  ", DocumentEmpty),
    (b"\x00\x01 not a message at all \xff", DocumentCorrupt),
])
def test_bad_input_is_a_document_error(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        load_document(data, "bad.eml", mime=EML)


def test_malformed_headers_and_parts_still_load() -> None:
    raw = (b"From: <<<broken@@address\r\nTo: ;;;\r\nSubject: Odd one\r\nMessage-ID: x\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain; charset=bogus-9"
           b"\r\n\r\nBody in an unknown charset \xe9t\xe9.\r\n--zz\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n"
           b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n"
           b"!!!not base64!!!\r\n--zz")  # the closing boundary is missing too
    doc = load_document(raw, "odd.eml")
    assert doc.title == "Odd one" and "Body in an unknown charset" in doc.text
    assert [a.filename for a in doc.attachments] == ["a.pdf"]
