"""The redaction hooks: parsed documents keep their structure, answers and streams lose their personal data."""

from __future__ import annotations

from collections.abc import Iterator

from ragd.generate.base import Answer, Citation, GenEvent, Token, final_answer
from ragd.ingest.loaders import load_document
from ragd.models import Chunk, ScoredChunk
from ragd.privacy.apply import effective, redact_answer, redact_document, redact_events, redact_retrieval
from ragd.retrieve.service import Retrieval

EMAIL, IBAN, PHONE = "jean.dupont@example.com", "FR76 3000 6000 0112 3456 7890 189", "+33 6 12 34 56 78"

MARKDOWN = f"""# Contact {EMAIL}

Le service facturation répond au {PHONE} du lundi au vendredi.

## Paiement

Virement sur l'IBAN {IBAN} uniquement.

| Nom | Téléphone | Courriel |
|---|---|---|
| Jean | 06 12 34 56 78 | {EMAIL} |
| Marie | 07 98 76 54 32 | marie@example.org |

Fin du document.
""".encode()


def test_redacted_document_keeps_its_blocks_and_offsets() -> None:
    parsed = load_document(MARKDOWN, "contact.md")
    out = redact_document(parsed, True)
    assert len(out.blocks) == len(parsed.blocks)
    for before, after in zip(parsed.blocks, out.blocks, strict=True):
        assert (after.kind, after.page, after.level, after.header_lines) == (
            before.kind, before.page, before.level, before.header_lines)
        assert out.text[after.start:after.end] == after.text
        assert after.text.count("\n") == before.text.count("\n")  # a table keeps its rows
        assert len(after.heading_path) == len(before.heading_path)
    for secret in (EMAIL, IBAN, PHONE, "06 12 34 56 78", "marie@example.org"):
        assert secret not in out.text
        assert all(secret not in b.text and all(secret not in h for h in b.heading_path) for b in out.blocks)
    assert "[EMAIL]" in out.text and "[IBAN]" in out.text and "[PHONE]" in out.text
    assert out.title is None or EMAIL not in out.title
    assert redact_document(parsed, False) is parsed


def test_offsets_inside_a_match_keep_the_whole_placeholder() -> None:
    from ragd.models import Block, ParsedDocument

    text = f"mail {EMAIL} end"
    cut = text.index("@")  # a block boundary falling inside the address
    parsed = ParsedDocument(text=text, blocks=[
        Block("paragraph", text[:cut], 0, cut), Block("paragraph", text[cut:], cut, len(text)),
    ])
    out = redact_document(parsed, True)
    assert out.text == "mail [EMAIL] end"
    assert [b.text for b in out.blocks] == ["mail [EMAIL]", "[EMAIL] end"]


def _answer(text: str) -> Answer:
    cite = Citation(marker=1, document_id="d1", filename="f.txt", chunk_id="c1", page=None,
                    text=f"Écrire à {EMAIL} ou appeler le {PHONE}.", start=10, end=60, score=0.9,
                    heading_path=[f"Contact {EMAIL}"])
    return Answer(text, [cite], True, "m")


def test_redact_answer_covers_text_snippets_and_headings() -> None:
    ans = redact_answer(_answer(f"Écrivez à {EMAIL} [1]."), True)
    assert ans.text == "Écrivez à [EMAIL] [1]."
    c = ans.citations[0]
    assert c.text == "Écrire à [EMAIL] ou appeler le [PHONE]." and c.heading_path == ["Contact [EMAIL]"]
    assert (c.start, c.end) == (10, 60)  # still offsets into the stored text
    original = _answer("x")
    assert redact_answer(original, False) is original


def test_redact_retrieval_copies_the_hits() -> None:
    chunk = Chunk(id="c1", seq=1, document_id="d1", collection="default", filename="f.txt", ordinal=0,
                  text=f"IBAN {IBAN}", start=0, end=38, page_start=None, page_end=None, heading_path=[],
                  content_hash="h")
    r = Retrieval(hits=[ScoredChunk(chunk, 1.0)], query_vector=None, terms=[])
    out = redact_retrieval(r, True)
    assert out.hits[0].chunk.text == "IBAN [IBAN]" and chunk.text == f"IBAN {IBAN}"


def _stream(pieces: list[str], closed: list[bool]) -> Iterator[GenEvent]:
    try:
        for p in pieces:
            yield Token(p)
        yield _answer("".join(pieces))
    finally:
        closed.append(True)


def test_redacted_stream_matches_the_redacted_answer() -> None:
    pieces = ["Écrivez à jean", ".dup", "ont@exa", "mple.com ou au +33 6 ", "12 34", " 56 78", " [1]."]
    closed: list[bool] = []
    events = list(redact_events(_stream(pieces, closed), True))
    tokens = "".join(e.text for e in events if isinstance(e, Token))
    final = events[-1]
    assert isinstance(final, Answer)
    assert tokens == final.text == "Écrivez à [EMAIL] ou au [PHONE] [1]."
    assert all("@" not in e.text for e in events if isinstance(e, Token))
    assert closed == [True]


def test_closing_the_redacted_stream_closes_the_generator() -> None:
    closed: list[bool] = []
    events = redact_events(_stream(["a ", "b ", "c"], closed), True)
    next(events)
    events.close()  # type: ignore[attr-defined]
    assert closed == [True]
    passthrough = _stream(["x"], [])
    assert redact_events(passthrough, False) is passthrough
    assert final_answer(redact_events(_stream(["x"], []), True)).text == "x"


def test_a_collection_tightens_redaction_never_loosens_it() -> None:
    assert [effective(own, False) for own in (None, False, True)] == [False, False, True]
    assert [effective(own, True) for own in (None, False, True)] == [True, True, True]
