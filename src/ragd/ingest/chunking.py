"""Structure-aware chunking: :class:`ParsedDocument` blocks → :class:`ChunkDraft` s within a token budget.

Rules (what a test pins):

* Consecutive blocks are packed into one chunk while its token count (the embedding model's own tokenizer)
  stays within ``max_tokens``. A heading, or a change of heading path, starts a new chunk; headings stay with
  the text after them (a chunk never ends with a heading, except when nothing can follow it within the
  budget: the document's last block, headings that fill the budget, a table whose header and first row do). A
  page change may be crossed; ``page_start``/``page_end`` record it.
* A block over the budget is cut at sentence ends (``. ! ? …``, closing quotes and French ``»`` included, line
  breaks too), at word boundaries when a sentence alone is too long, and between two tokens for one huge word.
* Tables (``kind == "table"``) are cut only between rows and every piece repeats the header lines; a row over
  the budget stays whole (the chunk then exceeds the budget) unless it is over four budgets, then it is cut at
  words.
* Running prose overlaps: the next chunk starts about ``overlap_tokens`` before the end of the previous one,
  at a sentence start if one lies within [½, 1½] of that, else at a word start. Never across a heading or
  a path change, never into or out of a table.
* ``text == parsed.text[start:end]`` for every chunk except table continuations, whose text is the header
  lines, a newline and the rows ``parsed.text[start:end]``. ``token_count`` is the counter's count of
  the text.

Speed: every sentence (and table line) is counted in one batched tokenizer pass; chunks are packed from those
counts. Only a sentence longer than the budget, or an overlap that must start inside a sentence, is tokenised
again (one small ``token_offsets`` call). Final counts: see :mod:`ragd.ingest._chunk_count`. A short text of
prose only is first tokenized whole: when it fits the budget it is the one chunk the packer would make, and its
token ids go with it to the embedder (``ChunkDraft.token_ids``), so that it is tokenized once, not twice.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from dataclasses import dataclass
from itertools import accumulate, pairwise

from ragd.embed.base import TokenCounter
from ragd.ingest._chunk_count import Out, enforce_budget
from ragd.ingest._chunk_tables import split_table
from ragd.ingest._chunk_text import TokenMap, line_spans, lstrip_pos, rstrip_pos, sentence_spans
from ragd.models import ChunkDraft, ParsedDocument

__all__ = ["chunk_document"]

_MIN_OVERLAP = 4  # a shorter overlap is not worth it: the sentence starts the chunk alone
_TAIL_CHARS_PER_TOKEN = 6  # first guess of the window tokenised for an overlap inside a sentence
_SINGLE_CHARS_PER_TOKEN = 4  # a text longer than this many characters per budget token is not tried whole


@dataclass(slots=True)
class _Block:
    """A non-empty block, trimmed, with its sentences (table: lines) and their token counts."""

    index: int
    kind: str
    start: int
    end: int
    page: int | None
    path: list[str]
    header_lines: int
    starts: list[int]
    ends: list[int]
    counts: list[int]
    cum: list[int]  # cum[i] = tokens of sentences before i

    @property
    def tokens(self) -> int:
        return self.cum[-1]


@dataclass(slots=True)
class _Piece:
    """A run of text inside one block. ``aligned``: starts and ends on sentence boundaries of its block."""

    start: int
    end: int
    tokens: int
    page: int | None
    kind: str  # "heading" | "text" | "table" | "overlap"
    block: int
    aligned: bool = True


class _Packer:
    def __init__(self, text: str, counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> None:
        self.text = text
        self.counter = counter
        self.max = max_tokens
        self.overlap = overlap_tokens
        self.blocks: list[_Block] = []
        self.out: list[Out] = []
        self.cur: list[_Piece] = []
        self.cur_tokens = 0
        self.new = 0  # pieces of new content (neither heading nor carried-over overlap) in ``cur``
        self.path: list[str] = []
        self.last: list[_Piece] = []  # pieces of the chunk the current overlap came from

    # -- chunk state ---------------------------------------------------------------------------------------
    def _push(self, piece: _Piece) -> None:
        cur = self.cur
        last = cur[-1] if cur else None
        if (
            last is not None
            and piece.kind == "text"
            and last.kind == "text"
            and last.block == piece.block
            and last.aligned
            and piece.aligned
        ):  # the next sentence of the same block: extend the run
            last.end = piece.end
            last.tokens += piece.tokens
        else:
            cur.append(piece)
            if piece.kind != "heading" and piece.kind != "overlap":
                self.new += 1
        self.cur_tokens += piece.tokens

    def _reset(self, keep: list[_Piece]) -> None:
        self.cur, self.cur_tokens, self.new = [], 0, 0
        for p in keep:
            self._push(p)

    def _emit_cur(self) -> list[_Piece]:
        pieces = self.cur
        if pieces:
            start, end = pieces[0].start, pieces[-1].end
            pages = [p.page for p in pieces if p.page is not None]
            text = self.text
            check = start > 0 and not text[start - 1].isspace()
            for prev, p in pairwise(pieces):
                check = check or not text[prev.end : p.start].isspace()
            est = sum(p.tokens for p in pieces)
            self.out.append(Out(text[start:end], start, end, pages, list(self.path), False, est, check))
        self._reset([])
        return pieces

    def hard_break(self) -> None:
        """End the current chunk without overlap; leading headings wait for the text after them."""
        if self.new:
            self._emit_cur()
        else:
            self._reset([p for p in self.cur if p.kind == "heading"])

    def _roll(self) -> None:
        """End the current chunk because the budget is reached; the next one starts with its tail."""
        pieces = self._emit_cur()
        self.last = pieces
        self._reset(self._overlap_tail(pieces, self.max // 2))

    def emit(self, out: Out) -> None:
        self.out.append(out)

    # -- blocks --------------------------------------------------------------------------------------------
    def add(self, b: _Block) -> None:
        self.blocks.append(b)
        if self.cur and b.start < self.cur[-1].end:  # blocks out of reading order: never build a bad slice
            self.hard_break()
            if self.cur:
                self._emit_cur()
        if b.kind == "heading" and b.tokens <= self.max:
            self.hard_break()
            if self.cur_tokens + b.tokens > self.max:  # a pile of headings over the budget: unavoidable
                self._emit_cur()
            self._push(_Piece(b.start, b.end, b.tokens, b.page, "heading", b.index))
            self.path = b.path
            return
        if b.path != self.path:
            self.hard_break()  # a new section: no overlap from the previous one
            if not self.cur:
                self.path = b.path
        if b.kind == "table":
            self._add_table(b)
        else:
            self._add_text(b)

    def _add_text(self, b: _Block) -> None:
        if self.cur_tokens + b.tokens <= self.max:
            self._push(_Piece(b.start, b.end, b.tokens, b.page, "text", b.index))
            return
        if self.new:
            self._roll()
            if self.cur_tokens + b.tokens <= self.max:
                self._push(_Piece(b.start, b.end, b.tokens, b.page, "text", b.index))
                return
        for a, e, n in zip(b.starts, b.ends, b.counts, strict=True):
            if self.cur_tokens + n > self.max and self.new:
                self._roll()
            if self.cur_tokens + n > self.max and any(p.kind == "overlap" for p in self.cur):
                self._fit_overlap(n)  # a whole sentence beats a long overlap
            if self.cur_tokens + n <= self.max:
                self._push(_Piece(a, e, n, b.page, "text", b.index))
            else:
                self._add_long_sentence(b, a, e)

    def _add_long_sentence(self, b: _Block, a: int, e: int) -> None:
        """A sentence that does not fit after the overlap/headings: cut it at words."""
        tm = TokenMap.build(self.text, a, e, self.counter)
        tm.bounds = []
        pos = a
        while pos < e:
            room = self.max - self.cur_tokens
            if tm.tokens(pos, e) <= room:
                self._push(_Piece(pos, e, tm.tokens(pos, e), b.page, "text", b.index, aligned=False))
                return
            if self.new:
                self._roll()
                continue
            if room <= 0:  # only headings / overlap and no room left: give up the overlap, or the headings
                if any(p.kind == "overlap" for p in self.cur):
                    self._reset([p for p in self.cur if p.kind == "heading"])
                else:
                    self._emit_cur()
                continue
            q = tm.cut(pos, room, words=True)
            assert q is not None and q > pos
            end = rstrip_pos(self.text, pos, q)
            self._push(_Piece(pos, end, tm.tokens(pos, end), b.page, "text", b.index, aligned=False))
            pos = lstrip_pos(self.text, q, e)

    def _add_table(self, b: _Block) -> None:
        if self.cur_tokens + b.tokens <= self.max:
            self._push(_Piece(b.start, b.end, b.tokens, b.page, "table", b.index))
            return
        self.hard_break()
        if self.cur_tokens + b.tokens <= self.max:
            self._push(_Piece(b.start, b.end, b.tokens, b.page, "table", b.index))
            return
        lead, lead_tokens = self.cur, self.cur_tokens
        self._reset([])
        rows = list(zip(b.starts, b.ends, b.counts, strict=True))
        if not split_table(self, b.header_lines, rows, b.page, lead, lead_tokens):
            for p in lead:  # no header or no rows: an ordinary over-budget block
                self._push(p)
            self._add_text(b)

    # -- overlap -------------------------------------------------------------------------------------------
    def _tail_map(self, p: _Piece) -> TokenMap:
        """Tokens of the end of ``p``: enough of it for the overlap search (``1½ × overlap`` tokens)."""
        need = self.overlap + self.overlap // 2 + 1
        width = need * _TAIL_CHARS_PER_TOKEN
        while True:
            lo = p.start
            if p.end - lo > width:
                lo = p.end - width
                while lo < p.end and not self.text[lo - 1].isspace():  # start on a word boundary
                    lo += 1
            tm = TokenMap.build(self.text, lo, p.end, self.counter)
            if lo == p.start or tm.n_tokens >= need:
                return tm
            width *= 4

    def _overlap_tail(self, pieces: list[_Piece], cap: int) -> list[_Piece]:
        """The pieces the next chunk starts with: about ``overlap`` tokens (never over ``cap``) from the end
        of ``pieces``, from a sentence start if one gives [½, 1½] of that, else from a word start."""
        target = min(self.overlap, cap)
        if target <= 0 or not pieces:
            return []
        lo_ok, hi_ok = (target + 1) // 2, min(target + target // 2, cap)
        total = sum(p.tokens for p in pieces)
        # best: (|d - target|, piece, position, tokens, aligned); fallback: (piece, tokens after it)
        best: tuple[int, int, int, int, bool] | None = None
        fallback: tuple[int, int] | None = None
        after = 0  # tokens after the piece being scanned
        for k in range(len(pieces) - 1, -1, -1):
            p = pieces[k]
            if p.kind in ("heading", "table") or after >= hi_ok:
                break
            for c, n in self._sentence_starts_back(p, hi_ok - after):
                d = after + n
                if lo_ok <= d <= hi_ok and d < total and (best is None or abs(d - target) < best[0]):
                    best = (abs(d - target), k, c, n, p.aligned)
            if fallback is None and after < target < after + p.tokens:
                fallback = (k, after)
            after += p.tokens
        if best is not None:
            _, k, c, n, aligned = best
        elif fallback is not None:
            k, after_k = fallback
            p = pieces[k]
            tm = self._tail_map(p)
            c = tm.word_start_within(p.end, target - after_k)
            n, aligned = tm.tokens(c, p.end), False
        else:
            return []
        if (k == 0 and c <= pieces[0].start) or n <= 0 or c >= pieces[k].end:
            return []
        first = pieces[k]
        tail = [_Piece(c, first.end, n, first.page, "overlap", first.block, aligned)]
        tail += [
            _Piece(p.start, p.end, p.tokens, p.page, "overlap", p.block, p.aligned) for p in pieces[k + 1 :]
        ]
        return tail

    def _fit_overlap(self, n: int) -> None:
        """The next ``n`` tokens do not fit after the overlap: take a shorter one, or none."""
        heads = [p for p in self.cur if p.kind == "heading"]
        room = self.max - sum(p.tokens for p in heads) - n
        tail = self._overlap_tail(self.last, room) if room >= _MIN_OVERLAP else []
        self._reset(heads + tail)

    def _sentence_starts_back(self, p: _Piece, limit: int) -> list[tuple[int, int]]:
        """``(sentence start, tokens from it to the end of p)`` inside ``p``, last first, up to ``limit``."""
        out: list[tuple[int, int]] = []
        if p.aligned:
            b = self.blocks[p.block]
            k0, k1 = bisect_left(b.starts, p.start), bisect_left(b.starts, p.end)
            for i in range(k1 - 1, k0 - 1, -1):
                n = b.cum[k1] - b.cum[i]
                if n > limit:
                    break
                out.append((b.starts[i], n))
            return out
        tm = self._tail_map(p)
        cands = [c for c in tm.bounds if p.start < c < p.end]
        if tm.start == p.start:
            cands.insert(0, p.start)
        n_end = tm.index(p.end)
        for c in reversed(cands):
            n = n_end - tm.index(c)
            if n > limit:
                break
            out.append((c, n))
        return out

    def finish(self) -> list[Out]:
        if self.new or (self.cur and all(p.kind == "heading" for p in self.cur)):
            self._emit_cur()
        return self.out


def _trimmed_blocks(parsed: ParsedDocument) -> list[tuple[int, int, int]]:
    """``(block index, start, end)`` of the non-blank blocks, trimmed."""
    text = parsed.text
    n_text = len(text)
    out: list[tuple[int, int, int]] = []
    for i, b in enumerate(parsed.blocks):
        s = lstrip_pos(text, max(b.start, 0), min(b.end, n_text))
        e = rstrip_pos(text, s, min(b.end, n_text))
        if e > s:
            out.append((i, s, e))
    return out


def _page(page: int | None) -> int | None:
    return page if page is not None and page >= 1 else None


def _make_blocks(parsed: ParsedDocument, trimmed: list[tuple[int, int, int]], counter: TokenCounter) -> list[_Block]:
    """The blocks with their sentences (table: lines) counted in one batched tokenizer pass."""
    text = parsed.text
    found = [
        (i, s, e, line_spans(text, s, e) if parsed.blocks[i].kind == "table" else sentence_spans(text, s, e))
        for i, s, e in trimmed
    ]
    counts = iter(counter.count_tokens([text[a:z] for *_, spans in found for a, z in spans]))
    out: list[_Block] = []
    for j, (i, s, e, spans) in enumerate(found):
        b = parsed.blocks[i]
        cs = [next(counts) for _ in spans]
        out.append(
            _Block(
                j, b.kind, s, e, _page(b.page), list(b.heading_path), b.header_lines,
                [a for a, _ in spans], [z for _, z in spans], cs, [0, *accumulate(cs)],
            )
        )  # fmt: skip
    return out


def _single_chunk(
    parsed: ParsedDocument, trimmed: list[tuple[int, int, int]], counter: TokenCounter, max_tokens: int
) -> ChunkDraft | None:
    """The whole text as one chunk, when it plainly is one: prose only (no heading, no table) under one heading
    path, in reading order, within the budget by one count of the whole text, as the packer would make it. The
    count's token ids go with the chunk, so that the embedder does not tokenize it a second time. Tried only on
    texts short enough to be likely to fit (a miss costs one tokenizer pass)."""
    start, end = trimmed[0][1], trimmed[-1][2]
    if end - start > max_tokens * _SINGLE_CHARS_PER_TOKEN:
        return None
    blocks = parsed.blocks
    path = blocks[trimmed[0][0]].heading_path
    reached = start
    for i, s, e in trimmed:
        b = blocks[i]
        if b.kind in ("heading", "table") or b.heading_path != path or s < reached:
            return None
        reached = e
    text = parsed.text[start:end]
    (ids,) = counter.token_ids([text])
    if len(ids) > max_tokens:
        return None
    pages = [p for i, _, _ in trimmed if (p := _page(blocks[i].page)) is not None]
    chunk = _draft(0, Out(text, start, end, pages, list(path), False), len(ids))
    chunk.token_ids = ids
    return chunk


def chunk_document(
    parsed: ParsedDocument, counter: TokenCounter, *, max_tokens: int = 200, overlap_tokens: int = 32
) -> list[ChunkDraft]:
    """Cut ``parsed`` into chunks of at most ``max_tokens`` model tokens following its structure (module doc).

    ``overlap_tokens`` is clamped to a third of ``max_tokens``. Returns ``[]`` for a document without text.
    Deterministic: the same document and tokenizer give the same chunks and hashes.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    overlap = max(0, min(overlap_tokens, max_tokens // 3))
    trimmed = _trimmed_blocks(parsed)
    if not trimmed:
        return []
    single = _single_chunk(parsed, trimmed, counter, max_tokens)
    if single is not None:
        return [single]
    blocks = _make_blocks(parsed, trimmed, counter)
    packer = _Packer(parsed.text, counter, max_tokens, overlap)
    for b in blocks:
        packer.add(b)
    outs = enforce_budget(packer.finish(), counter, max_tokens)
    return [_draft(i, o, n) for i, (o, n) in enumerate(outs)]


def _draft(ordinal: int, o: Out, tokens: int) -> ChunkDraft:
    return ChunkDraft(
        ordinal=ordinal,
        text=o.text,
        start=o.start,
        end=o.end,
        page_start=min(o.pages) if o.pages else None,
        page_end=max(o.pages) if o.pages else None,
        heading_path=list(o.path),
        token_count=tokens,
        content_hash=hashlib.sha256(o.text.encode("utf-8")).hexdigest(),
    )
