"""The default generator: no LLM. It picks the sentences of the retrieved passages that best answer the question
and cites each one; when nothing retrieved is relevant enough it says so instead of guessing."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ragd.config import AnswerSettings
from ragd.embed.base import Embedder
from ragd.generate.base import NO_ANSWER, Answer, ChatMessage, Citation, GenEvent, Token, attached_to_of
from ragd.generate.sentences import split_sentences
from ragd.models import ScoredChunk
from ragd.retrieve.analysis import STOPWORDS, analyze_query, fold, words
from ragd.retrieve.service import Retrieval

PageOf = Callable[[str, int], int | None]
"""``page_of(document_id, offset)``: the page (from 1) holding a character offset of a document's text."""

_PASSAGES = 4  # sentences are drawn from the best few passages only
_MAX_SENTENCES = 80
_EMBEDDED = 16  # of which at most this many are embedded and compared with the question
_FOLLOW_UP_WORDS = 8  # a last user message this short borrows the previous question's key terms
_PIECE = re.compile(r"\S+\s*")


@dataclass(slots=True)
class _Candidate:
    hit_rank: int
    hit: ScoredChunk
    start: int
    end: int
    text: str


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, embedder: Embedder, settings: AnswerSettings, page_of: PageOf | None = None) -> None:
        self._embedder = embedder
        self._settings = settings
        self._page_of = page_of

    def answer(self, query: str, retrieval: Retrieval) -> Answer:
        t0 = time.perf_counter()
        terms = set(analyze_query(query))
        cands = self._candidates(retrieval.hits)
        if not cands:
            return Answer(NO_ANSWER, [], False, self.name, {"generate": (time.perf_counter() - t0) * 1000})
        qv = (
            retrieval.query_vector
            if retrieval.query_vector is not None
            else self._embedder.embed_query(query)
        )
        overlap = np.array([_overlap(terms, c.text) for c in cands], dtype=np.float32)
        # embed only the sentences a cheap score (term overlap, passage similarity and rank) puts in front
        cheap = overlap + np.array(
            [(c.hit.similarity or 0.0) - 0.05 * c.hit_rank for c in cands], dtype=np.float32
        )
        keep = np.argsort(-cheap, kind="stable")[:_EMBEDDED]
        cands = [cands[i] for i in keep]
        overlap = overlap[keep]
        cos = self._embedder.embed([c.text for c in cands]) @ qv
        scores = cos + 0.3 * overlap - 0.02 * np.array([c.hit_rank for c in cands], dtype=np.float32)
        best_sim = max((h.similarity for h in retrieval.hits if h.similarity is not None), default=None)
        relevant = (best_sim is not None and best_sim >= self._settings.min_score) or float(
            overlap.max()
        ) >= 0.5
        relevant = relevant and float(cos.max()) >= self._settings.min_score * 0.6
        if not relevant:
            return Answer(NO_ANSWER, [], False, self.name, {"generate": (time.perf_counter() - t0) * 1000})
        order = np.argsort(-scores)
        top = float(scores[order[0]])
        chosen = [int(i) for i in order[: self._settings.max_sentences] if scores[i] >= top - 0.15]
        text, citations = self._compose([cands[i] for i in chosen], [float(cos[i]) for i in chosen])
        return Answer(text, citations, True, self.name, {"generate": (time.perf_counter() - t0) * 1000})

    def stream(
        self, query: str, retrieval: Retrieval, history: list[ChatMessage] | None = None
    ) -> Iterator[GenEvent]:
        """The extractive answer as a few token events (a handful of words each), then the answer itself, so
        streaming clients see the same event sequence as with a model. With ``history``, sentences are scored
        against the standalone form of the question."""
        if history:
            query = self.standalone_query([*history, ChatMessage("user", query)])
        ans = self.answer(query, retrieval)
        pieces = _PIECE.findall(ans.text)
        for i in range(0, len(pieces), 8):
            yield Token("".join(pieces[i : i + 8]))
        ans.completion_tokens = len(pieces)
        yield ans

    def standalone_query(self, messages: list[ChatMessage]) -> str:
        """The last user message; a short follow-up also gets the previous user question's key terms, so
        "and in 2023?" after "revenue of ACME" searches "and in 2023? revenue acme"."""
        users = [m.content for m in messages if m.role == "user"]
        if not users:
            return ""
        last = users[-1].strip()
        if len(users) < 2 or len(words(last)) > _FOLLOW_UP_WORDS:
            return last
        seen = {fold(w) for w in words(last)}
        extra: list[str] = []
        for w in words(users[-2]):
            f = fold(w)
            if len(w) > 2 and f not in seen and f not in STOPWORDS["english"] and f not in STOPWORDS["french"]:
                seen.add(f)
                extra.append(w)
        return f"{last} {' '.join(extra)}".strip()

    def _candidates(self, hits: list[ScoredChunk]) -> list[_Candidate]:
        out: list[_Candidate] = []
        for rank, hit in enumerate(hits[:_PASSAGES]):
            text = hit.chunk.text
            for s, e in split_sentences(text):
                sentence = text[s:e]
                if sentence.startswith("|") and set(sentence) <= set("|-: "):
                    continue  # a Markdown table's separator line
                if not sentence.startswith("|") and _headline(sentence, hit.chunk.heading_path):
                    continue
                out.append(_Candidate(rank, hit, s, e, sentence))
                if len(out) >= _MAX_SENTENCES:
                    return out
        return out

    def _compose(self, chosen: list[_Candidate], sims: list[float]) -> tuple[str, list[Citation]]:
        markers: dict[str, int] = {}
        citations: list[Citation] = []
        parts: list[str] = []
        for cand, sim in zip(chosen, sims, strict=True):
            chunk = cand.hit.chunk
            is_slice = chunk.end - chunk.start == len(chunk.text)
            start = chunk.start + cand.start if is_slice else chunk.start
            end = chunk.start + cand.end if is_slice else chunk.end
            key = f"{chunk.id}:{cand.start}"
            if key not in markers:
                markers[key] = len(citations) + 1
                page = chunk.page_start
                if self._page_of is not None and is_slice:
                    page = self._page_of(chunk.document_id, start) or page
                citations.append(
                    Citation(
                        marker=markers[key],
                        document_id=chunk.document_id,
                        filename=chunk.filename,
                        chunk_id=chunk.id,
                        page=page,
                        text=cand.text,
                        start=start,
                        end=end,
                        score=round(sim, 4),
                        heading_path=list(chunk.heading_path),
                        attached_to=attached_to_of(chunk.metadata),
                    )
                )
            parts.append(f"{cand.text} [{markers[key]}]")
        return " ".join(parts), citations


def _headline(sentence: str, headings: list[str]) -> bool:
    """Headings and other short unpunctuated lines are labels, not answers."""
    n = len(sentence.split())
    return n < 3 or sentence in headings or (n < 8 and sentence[-1] not in ".!?…»\")'")


def _overlap(terms: set[str], sentence: str) -> float:
    if not terms:
        return 0.0
    return len(terms & set(analyze_query(sentence))) / len(terms)
