"""E-mail attachments as child documents, on the run's store backend: created in the parent's collection with
``parent_id`` and ``attached_to``, indexed, listed under the parent, deleted with it; hostile mails (deep nesting,
too many or too large attachments, repeated content) end with specific codes in the parent's metadata while the
parent's own text is indexed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.ingest.mailfiles import attach, mail, nested

from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest.attachments import SKIPPED_KEY, plan_children
from ragd.ingest.loaders import EML, load_document
from ragd.models import DocStatus, Document

CSV_BYTES = b"region,total\nnorth,12\nsouth,30\n"


def make(tmp_path: Path, **mail_settings: object) -> Ragd:
    return Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}, mail=mail_settings))


def put(r: Ragd, data: bytes, filename: str, **kw: object) -> Document:
    return r.submit(data, filename, **kw)[0]


@pytest.fixture
def r(tmp_path: Path) -> Iterator[Ragd]:
    inst = make(tmp_path)
    yield inst
    inst.close()


def tree(r: Ragd, doc: Document) -> dict[str, Document]:
    """Every document under ``doc``, by file name."""
    out: dict[str, Document] = {}
    todo = [doc.id]
    while todo:
        for child in r.store.list_children(todo.pop()):
            out[child.filename] = child
            todo.append(child.id)
    return out


def skipped(r: Ragd, doc_id: str) -> dict[str, str]:
    """File name → code of the attachments the document's metadata lists as skipped."""
    return {s["filename"]: s["code"] for s in r.get_document(doc_id).metadata.get(SKIPPED_KEY, [])}


def test_attachments_become_indexed_children_of_the_mail(r: Ragd) -> None:
    m = attach(mail(), CSV_BYTES, "figures.csv", "text/csv")
    attach(m, b"GIF89a" + bytes(64), "logo.gif", "image/gif")  # PNG, JPEG and TIFF are read by OCR
    attach(m, mail("Forwarded minutes", "The minutes say the roof over the north wing is fixed."))
    sub = put(r, m.as_bytes(), "mail.eml", collection="inbox", metadata={"project": "roof"})
    r.workers.drain()
    parent = r.get_document(sub.id)
    assert parent.status is DocStatus.INDEXED and parent.parent_id is None and parent.mime == "message/rfc822"
    assert parent.metadata["mail_subject"] == "Quarterly report" and parent.metadata["project"] == "roof"
    assert skipped(r, parent.id) == {"logo.gif": "unsupported_media_type"}
    children = tree(r, parent)
    assert set(children) == {"figures.csv", "Forwarded minutes.eml"}
    for child in children.values():
        assert child.status is DocStatus.INDEXED and child.parent_id == parent.id
        assert child.collection == "inbox" and child.tenant_id == parent.tenant_id
        assert child.metadata["attached_to"] == "'Quarterly report' (mail.eml)"
        assert child.metadata["project"] == "roof"
    assert children["figures.csv"].mime == "text/csv" and "mail_subject" not in children["figures.csv"].metadata
    forwarded = children["Forwarded minutes.eml"]
    assert r.get_document(forwarded.id).metadata["mail_subject"] == "Forwarded minutes"
    chunks = r.store.list_chunks(forwarded.id)
    assert any("north wing" in c.text for c in chunks)
    assert chunks[0].metadata["attached_to"] == "'Quarterly report' (mail.eml)"
    assert r.ingest.original(children["figures.csv"].id) == CSV_BYTES


def test_deleting_the_mail_deletes_its_children_and_their_files(r: Ragd) -> None:
    m = attach(mail(), CSV_BYTES, "figures.csv", "text/csv")
    attach(m, nested(1))
    sub = put(r, m.as_bytes(), "mail.eml")
    other = put(r, b"An unrelated note about the boiler.", "note.txt")
    r.workers.drain()
    descendants = tree(r, sub)
    assert len(descendants) == 3  # figures.csv, Level 0.eml and, inside it, Level 1.eml
    r.ingest.delete(sub.id)
    for d in descendants.values():
        assert r.store.get_document(d.id) is None and r.ingest.original(d.id) is None
        assert r.store.list_chunks(d.id) == []
    assert r.get_document(other.id).status is DocStatus.INDEXED


def test_a_new_version_of_the_mail_replaces_its_children(r: Ragd) -> None:
    first = put(r, attach(mail(), CSV_BYTES, "figures.csv", "text/csv").as_bytes(), "mail.eml")
    r.workers.drain()
    old_child = next(iter(tree(r, first).values()))
    second = put(r, attach(mail(), b"region,total\nwest,7\n", "figures.csv", "text/csv").as_bytes(), "mail.eml")
    r.workers.drain()
    assert r.store.get_document(first.id) is None and r.store.get_document(old_child.id) is None
    new_child = tree(r, second)["figures.csv"]
    assert r.ingest.original(new_child.id) == b"region,total\nwest,7\n" and r.ingest.original(old_child.id) is None


def test_an_attachment_does_not_replace_an_upload_of_the_same_name(r: Ragd) -> None:
    upload = put(r, b"north,south\n1,2\n", "figures.csv")
    r.workers.drain()
    put(r, attach(mail(), CSV_BYTES, "figures.csv", "text/csv").as_bytes(), "mail.eml")
    r.workers.drain()
    assert r.get_document(upload.id).status is DocStatus.INDEXED


def test_attachments_of_the_same_name_are_all_kept(r: Ragd) -> None:
    m = mail()
    for region in ("north", "south", "west"):
        attach(m, f"region,total\n{region},1\n".encode(), "figures.csv", "text/csv")
    sub = put(r, m.as_bytes(), "mail.eml")
    r.workers.drain()
    children = tree(r, sub)
    assert set(children) == {"figures.csv", "figures (2).csv", "figures (3).csv"}
    assert {r.ingest.original(c.id) for c in children.values()} == {
        b"region,total\nnorth,1\n", b"region,total\nsouth,1\n", b"region,total\nwest,1\n"}
    assert all(c.status is DocStatus.INDEXED for c in children.values())


def test_nesting_deeper_than_the_limit_stops_with_nesting_too_deep(tmp_path: Path) -> None:
    r = make(tmp_path, max_depth=2)
    try:
        sub = put(r, nested(5).as_bytes(), "deep.eml")
        r.workers.drain()
        docs = tree(r, sub)
        assert set(docs) == {"Level 1.eml", "Level 2.eml"}
        assert all(d.status is DocStatus.INDEXED for d in docs.values())
        assert skipped(r, docs["Level 2.eml"].id) == {"Level 3.eml": "nesting_too_deep"}
        assert "max_depth" not in str(skipped(r, sub.id))
    finally:
        r.close()


def test_too_many_and_too_large_attachments_are_skipped_with_their_codes(tmp_path: Path) -> None:
    r = make(tmp_path, max_attachments=2, max_attachments_mb=0.001)  # about 1 KB
    try:
        m = mail()
        attach(m, b"a,b\n1,2\n", "one.csv", "text/csv")
        attach(m, b"x" * 2000 + b"\n", "big.txt", "text/plain")  # over the size budget
        attach(m, b"a,b\n3,4\n", "two.csv", "text/csv")
        attach(m, b"a,b\n5,6\n", "three.csv", "text/csv")  # over the count
        sub = put(r, m.as_bytes(), "mail.eml")
        r.workers.drain()
        parent = r.get_document(sub.id)
        assert parent.status is DocStatus.INDEXED  # its own text is indexed
        assert skipped(r, parent.id) == {"big.txt": "attachments_too_large", "three.csv": "too_many_attachments"}
        assert set(tree(r, parent)) == {"one.csv", "two.csv"}
    finally:
        r.close()


def test_repeated_content_is_indexed_once(r: Ragd) -> None:
    m = mail()
    for i in range(20):
        attach(m, CSV_BYTES, f"copy{i}.csv", "text/csv")
    sub = put(r, m.as_bytes(), "mail.eml")
    r.workers.drain()
    assert set(tree(r, sub)) == {"copy0.csv"}
    codes = skipped(r, sub.id)
    assert len(codes) == 19 and set(codes.values()) == {"attachment_loop"}


def test_an_attachment_repeating_a_message_it_is_nested_in_is_a_loop(r: Ragd) -> None:
    """Containment cannot make a mail hold its own bytes, but a container format that can (a zip quine) or a
    forged chain must not start over: the ancestors' hashes are checked (the ancestors as the store chains them)."""
    data = attach(mail(), CSV_BYTES, "figures.csv", "text/csv").as_bytes()
    grand = Document("d_grand", "default", "grand.eml", hashlib.sha256(CSV_BYTES).hexdigest(), EML, 1)
    parent = Document("d_parent", "default", "mail.eml", hashlib.sha256(data).hexdigest(), EML, len(data),
                      parent_id=grand.id)
    parsed = load_document(data, "mail.eml")
    plan = plan_children(parent, parsed, [grand], r.settings, r.ingest.check)
    assert plan.children == []
    assert plan.skipped == [{"filename": "figures.csv", "code": "attachment_loop", "reason": plan.skipped[0]["reason"]}]


def test_an_outlook_message_has_the_same_children(r: Ragd) -> None:
    from aspose.email_foss import msg

    m = msg.MapiMessage.create("Site visit", "Notes from the site visit are attached.")
    m.set_property(msg.PropertyId.SENDER_EMAIL_ADDRESS, "alice@example.org")
    m.add_attachment("notes.txt", b"The scaffolding on the east side comes down on Friday.\n", mime_type="text/plain")
    m.add_embedded_message_attachment(msg.MapiMessage.create("Forwarded", "Parking is closed on Friday."),
                                      filename="Forwarded.msg")
    sub = put(r, m.to_bytes(), "visit.msg")
    r.workers.drain()
    parent = r.get_document(sub.id)
    assert parent.status is DocStatus.INDEXED and parent.mime == "application/vnd.ms-outlook"
    children = tree(r, parent)
    assert set(children) == {"notes.txt", "Forwarded.msg"}
    assert children["Forwarded.msg"].mime == "message/rfc822" and children["Forwarded.msg"].status is DocStatus.INDEXED
    assert all(c.metadata["attached_to"] == "'Site visit' (visit.msg)" for c in children.values())


def test_redacting_collections_redact_the_mail_headers_too(tmp_path: Path) -> None:
    r = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}, privacy={"redact_ingest": True}))
    try:
        m = attach(mail("Call jane.doe@example.org back", sender="Jane Doe <jane.doe@example.org>"), CSV_BYTES,
                   "figures.csv", "text/csv")
        sub = put(r, m.as_bytes(), "mail.eml")
        r.workers.drain()
        parent = r.get_document(sub.id)
        stored = str(parent.metadata) + (r.store.get_text(sub.id) or "")
        stored += "".join(str(c.metadata) for c in tree(r, parent).values())
        assert "jane.doe@example.org" not in stored and "bob@example.org" not in stored
        assert "[EMAIL]" in parent.metadata["mail_from"]
    finally:
        r.close()


def test_the_documents_one_upload_fans_out_to_are_bounded(tmp_path: Path) -> None:
    r = make(tmp_path, max_documents=5, max_attachments=3)
    try:
        outer = mail("Outer", "Three forwarded mails, each with three files.")
        for i in range(3):
            inner = mail(f"Inner {i}", f"Forwarded mail {i}.")
            for j in range(3):
                attach(inner, f"file {i}.{j}: the pump number {i}{j} is serviced.\n".encode(), f"f{i}{j}.txt",
                       "text/plain")
            attach(outer, inner)
        sub = put(r, outer.as_bytes(), "outer.eml")
        r.workers.drain()
        docs = tree(r, sub)
        assert len(docs) == 5  # 3 forwarded mails, then 2 files: the limit
        codes = [c for d in docs.values() if d.mime == "message/rfc822" for c in skipped(r, d.id).values()]
        assert codes and set(codes) == {"too_many_attachments"}
    finally:
        r.close()
