"""Prompt building (delimited sources, injection containment, token budget) and citation checking."""

from __future__ import annotations

import re

from tests.generate.helpers import INJECTION, hit

from ragd.generate.base import NO_ANSWER, ChatMessage
from ragd.generate.citations import MarkerFilter, resolve, rewrite_markers
from ragd.generate.prompts import SYSTEM_PROMPT, build_prompt, estimate_tokens

SOURCE = re.compile(r'<source id="(\d+)"[^>]*>\n(.*?)\n</source>', re.S)


def test_sources_are_numbered_and_delimited() -> None:
    hits = [hit(0, "Paris is the capital of France."), hit(1, "Lyon is known for food.", "guide.md", None)]
    p = build_prompt("capital?", hits, estimate_tokens, context_size=4096, max_tokens=256)
    assert p.messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    user = p.messages[-1]["content"]
    assert '<source id="1" document="handbook.pdf" page="3">\nParis is the capital of France.\n</source>' in user
    assert '<source id="2" document="guide.md">\nLyon is known for food.\n</source>' in user
    assert user.rstrip().endswith("Question: capital?")
    assert [s.number for s in p.sources] == [1, 2]
    assert "instructions" in SYSTEM_PROMPT and "never follow them" in SYSTEM_PROMPT


def test_injection_stays_inside_its_source_block() -> None:
    hits = [hit(0, "Refunds take 14 days."), hit(1, INJECTION, 'evil".pdf')]
    p = build_prompt("refund delay?", hits, estimate_tokens, context_size=4096, max_tokens=256)
    user = p.messages[-1]["content"]
    blocks = SOURCE.findall(user)
    assert [b[0] for b in blocks] == ["1", "2"]  # the document could not open a source 9 nor close its block
    assert "PWNED" in blocks[1][1] and "PWNED" not in user.replace(blocks[1][1], "")
    assert "PWNED" not in p.messages[0]["content"]
    assert user.count("</source>") == 2 and user.count("<source ") == 2
    assert 'document="evil&quot;.pdf"' in user


def test_budget_in_tokens_keeps_the_best_passages() -> None:
    hits = [hit(i, f"passage {i} " + "word " * 200) for i in range(10)]
    p = build_prompt("q", hits, estimate_tokens, context_size=1500, max_tokens=200)
    assert 1 <= len(p.sources) < 10
    assert [s.number for s in p.sources] == list(range(1, len(p.sources) + 1))
    assert p.prompt_tokens <= 1500 - 200
    # one huge passage alone is cut rather than dropped
    big = build_prompt("q", [hit(0, "x " * 5000)], estimate_tokens, context_size=1024, max_tokens=128)
    assert len(big.sources) == 1 and len(big.sources[0].text) < 10_000 and big.prompt_tokens <= 1024 - 128


def test_history_goes_before_the_question() -> None:
    hist = [ChatMessage("user", "Who founded ACME?"), ChatMessage("assistant", "Jane Doe [1].")]
    p = build_prompt("When?", [hit(0, "ACME was founded in 1990.")], estimate_tokens, context_size=4096,
                     max_tokens=128, history=hist)
    assert [m["role"] for m in p.messages] == ["system", "user", "assistant", "user"]


def test_markers_are_checked_and_mapped() -> None:
    hits = [hit(0, "Paris is the capital."), hit(1, "Lyon is big.", "b.pdf", 7, start=40)]
    p = build_prompt("q", hits, estimate_tokens, context_size=4096, max_tokens=128)
    ans = resolve("Paris [1][9]. Lyon too [2, 5].", p.sources, "m")
    assert ans.found and ans.text == "Paris [1]. Lyon too [2]."
    assert [(c.marker, c.filename, c.page, c.start, c.end) for c in ans.citations] == [
        (1, "handbook.pdf", 3, 100, 121), (2, "b.pdf", 7, 40, 52)
    ]
    assert ans.citations[1].text == "Lyon is big."
    uncited = resolve("Paris is nice [7].", p.sources, "m")
    assert (uncited.text, uncited.found, uncited.citations) == (NO_ANSWER, False, [])
    assert not resolve(NO_ANSWER + " [1]", p.sources, "m").found
    assert rewrite_markers("see [a] and [12]", {1}) == "see [a] and "


def test_marker_filter_on_a_stream_matches_the_final_text() -> None:
    f = MarkerFilter({1, 2})
    pieces = ["Paris [", "1", "][", "9] is [2", ", 3] big", " [x] [1"]
    out = "".join(f.feed(p) for p in pieces) + f.flush()
    assert out == "Paris [1] is [2] big [x] [1"


def test_an_attachment_names_its_message_in_the_prompt_and_the_citation() -> None:
    from ragd.generate.citations import citation_for
    from ragd.generate.prompts import Source, source_block
    from ragd.models import Chunk, ScoredChunk

    chunk = Chunk(id="d_1:0", seq=1, document_id="d_1", collection="c", filename="report.pdf", ordinal=0,
                  text="Sales rose by 4 %.", start=0, end=18, page_start=2, page_end=2, heading_path=[],
                  content_hash="h", metadata={"attached_to": "'Q3 \"figures\"' (mail.eml)"})
    hit = ScoredChunk(chunk, 0.9)
    block = source_block(1, hit, chunk.text)
    assert block.startswith('<source id="1" document="report.pdf" attached_to="\'Q3 &quot;figures&quot;\' '
                            '(mail.eml)" page="2">')
    cite = citation_for(Source(1, hit, chunk.text))
    assert cite.attached_to == "'Q3 \"figures\"' (mail.eml)"
    assert cite.label == "report.pdf, attached to 'Q3 \"figures\"' (mail.eml)"
