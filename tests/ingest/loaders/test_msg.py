"""The Outlook MSG loader: files built with aspose-email-foss's MSG writer (an Outlook-compatible Compound File; the
same files were checked once with extract-msg, an independent reader), read into the EML loader's shape; corrupt
or truncated files → document_corrupt, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aspose.email_foss import msg

from ragd.errors import DocumentCorrupt, DocumentEmpty, UnsupportedMediaType
from ragd.ingest.loaders import EML, MSG, load_document, sniff_type


def outlook_message(subject: str = "Budget 2027", body: str = "Hello team,\n\nThe budget for 2027 is approved.",
                    *, html: str | None = None) -> msg.MapiMessage:
    m = msg.MapiMessage.create(subject, body)
    if html is not None:
        m.body_html = html
    m.set_property(msg.PropertyId.SENDER_NAME, "Alice Martin")
    m.set_property(msg.PropertyId.SENDER_EMAIL_ADDRESS, "alice@example.org")
    m.set_property(msg.PropertyId.MESSAGE_DELIVERY_TIME, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    m.add_recipient("bob@example.org", display_name="Bob")
    m.add_recipient("carol@example.org", display_name="Carol", recipient_type=msg.RECIPIENT_TYPE_CC)
    return m


def test_sniffed_from_its_property_stream_whatever_the_name() -> None:
    data = outlook_message().to_bytes()
    assert sniff_type(data, "mail.msg") == MSG and sniff_type(data, "upload") == MSG
    assert sniff_type(data, "mail.doc") == MSG


def test_headers_body_and_metadata_as_for_eml() -> None:
    doc = load_document(outlook_message().to_bytes(), "mail.msg")
    assert doc.mime == MSG and doc.title == "Budget 2027"
    assert doc.metadata["mail_from"] == "Alice Martin <alice@example.org>"
    assert doc.metadata["mail_to"] == "Bob <bob@example.org>" and doc.metadata["mail_cc"] == "Carol <carol@example.org>"
    assert doc.metadata["mail_date"] == "Tue, 01 Dec 2026 10:00:00 +0000"
    assert [b.text for b in doc.blocks][2:] == ["Hello team,", "The budget for 2027 is approved."]
    assert doc.blocks[1].text.startswith("From: Alice Martin <alice@example.org>\nTo: Bob <bob@example.org>")


def test_attachments_and_embedded_messages() -> None:
    m = outlook_message()
    m.add_attachment("figures.csv", b"region,total\nnorth,12\n", mime_type="text/csv")
    m.add_embedded_message_attachment(outlook_message("Inner note", "The inner note says the roof is fixed."),
                                      filename="Inner note.msg")
    doc = load_document(m.to_bytes(), "mail.msg")
    assert [a.filename for a in doc.attachments] == ["figures.csv", "Inner note.msg"]
    assert doc.attachments[0].data == b"region,total\nnorth,12\n"
    inner = doc.attachments[1].data
    assert sniff_type(inner, "Inner note.msg") == EML  # an embedded message becomes an RFC 822 child
    child = load_document(inner, "Inner note.msg")
    assert child.title == "Inner note" and "the roof is fixed" in child.text


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_file_is_corrupt(cut: float) -> None:
    data = outlook_message().to_bytes()
    with pytest.raises(DocumentCorrupt):
        load_document(data[: int(len(data) * cut)], "mail.msg", mime=MSG)


def test_damaged_sectors_are_corrupt_or_still_read() -> None:
    data = bytearray(outlook_message().to_bytes())
    for offset in range(512, len(data), 997):  # scribble over the FAT, directory and streams
        data[offset:offset + 8] = b"\xff\xfe\xfd\xfc\x00\x01\x02\x03"
    try:
        doc = load_document(bytes(data), "mail.msg", mime=MSG)
    except DocumentCorrupt:
        return
    assert doc.mime == MSG


def test_bad_input() -> None:
    with pytest.raises(DocumentEmpty):
        load_document(b"", "mail.msg", mime=MSG)
    with pytest.raises(DocumentCorrupt):
        load_document(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "mail.msg")  # an OLE header, nothing more
    with pytest.raises(UnsupportedMediaType):  # a legacy Office file is still refused as such
        sniff_type(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "report.doc")
