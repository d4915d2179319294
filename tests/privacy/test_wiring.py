"""Redaction wired into a real instance: ingestion (stored text, chunks, indexes) and answers (plain and streamed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragd.config import Settings
from ragd.core import Ragd
from ragd.generate.base import Answer, ChatMessage, Token

EMAIL, PHONE, IBAN, CARD = ("jean.dupont@example.com", "+33 6 12 34 56 78", "FR76 3000 6000 0112 3456 7890 189",
                            "4111 1111 1111 1111")
SECRETS = (EMAIL, PHONE, IBAN, CARD)
DOC = f"""Billing department contact sheet.

The billing manager can be reached by e-mail at {EMAIL} or by phone at {PHONE} on weekdays.

Refunds are paid by bank transfer to IBAN {IBAN} within five working days.

Card payments go through the terminal; a customer card such as {CARD} is never stored.
""".encode()
QUESTION = "How can I reach the billing manager by e-mail or phone?"


def open_ragd(data_dir: Path, **privacy: object) -> Ragd:
    return Ragd(Settings(data_dir=data_dir, ingest={"workers": 0}, privacy=privacy))


def ingest(r: Ragd) -> str:
    doc, _ = r.submit(DOC, "billing.txt")
    r.workers.drain()
    assert r.get_document(doc.id).status == "indexed"
    return doc.id


def test_redact_ingest_keeps_personal_data_out_of_the_store_and_indexes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = open_ragd(data, redact_ingest=True)
    try:
        doc_id = ingest(r)
        text = r.store.get_text(doc_id)
        assert text is not None and "[EMAIL]" in text and "[IBAN]" in text and "[CARD]" in text
        assert not any(s in text for s in SECRETS)
        chunks = r.store.list_chunks(doc_id)
        assert chunks
        for c in chunks:
            assert not any(s in c.text for s in SECRETS)
            assert text[c.start:c.end] == c.text  # offsets point into the stored, redacted text
        assert r.query(EMAIL, mode="bm25", answer=False).retrieval.hits == []
        assert r.query("jean dupont", mode="bm25", answer=False).retrieval.hits == []
        for h in r.query(EMAIL, answer=False).retrieval.hits:
            assert EMAIL not in h.chunk.text
    finally:
        r.close()
    # nothing derived from the text keeps it: database, WAL, indexes (the uploaded original is kept as is)
    for path in data.rglob("*"):
        if path.is_file() and "files" not in path.relative_to(data).parts:
            blob = path.read_bytes()
            for s in SECRETS:
                assert s.encode() not in blob, (path, s)


def test_without_redact_ingest_the_text_is_preserved(tmp_path: Path) -> None:
    r = open_ragd(tmp_path / "data")
    try:
        doc_id = ingest(r)
        text = r.store.get_text(doc_id) or ""
        assert all(s in text for s in SECRETS)
        hits = r.query(EMAIL, mode="bm25", answer=False).retrieval.hits
        assert hits and EMAIL in hits[0].chunk.text
    finally:
        r.close()


def _texts(ans: Answer) -> str:
    return "\n".join([ans.text, *(c.text for c in ans.citations), *(h for c in ans.citations for h in c.heading_path)])


def test_redact_answers_plain_streamed_and_chat(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = open_ragd(data)
    try:
        ingest(r)
        res = r.query(QUESTION)
        assert res.answer is not None and res.answer.found
        assert EMAIL in _texts(res.answer)  # the control: without the setting the answer shows it
    finally:
        r.close()

    r = open_ragd(data, redact_answers=True)
    try:
        res = r.query(QUESTION)
        assert res.answer is not None and res.answer.found
        assert "[EMAIL]" in _texts(res.answer)
        assert not any(s in _texts(res.answer) for s in SECRETS)
        assert res.retrieval.hits and not any(s in h.chunk.text for h in res.retrieval.hits for s in SECRETS)

        turn = r.answers.ask("u1", QUESTION)
        events = list(turn.events())
        streamed = "".join(e.text for e in events if isinstance(e, Token))
        final = events[-1]
        assert isinstance(final, Answer) and final.found
        assert not any(s in streamed or s in _texts(final) for s in SECRETS)
        assert streamed.strip() == final.text.strip()

        chat = r.answers.chat("u1", [ChatMessage("user", QUESTION)])
        ans = chat.result()
        assert not any(s in _texts(ans) for s in SECRETS)
        stored = r.conversations.list_messages("u1", chat.conversation_id or "")
        assistant = [m for m in stored if m.role == "assistant"]
        assert assistant and not any(s in assistant[0].content for s in SECRETS)

        assert EMAIL in (r.store.get_text(res.answer.citations[0].document_id) or "")  # the stored text is untouched
    finally:
        r.close()


@pytest.mark.parametrize("kinds", [["iban"]])
def test_kinds_restrict_what_is_redacted(tmp_path: Path, kinds: list[str]) -> None:
    r = open_ragd(tmp_path / "data", redact_ingest=True, kinds=kinds)
    try:
        text = r.store.get_text(ingest(r)) or ""
        assert IBAN not in text and "[IBAN]" in text
        assert EMAIL in text and CARD in text
    finally:
        r.close()
