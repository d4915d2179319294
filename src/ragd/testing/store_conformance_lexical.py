"""The lexical feed of the Store contract (what the in-memory :class:`~ragd.index.lexical.LexicalIndex` is
derived from), and the promise that index keeps: it ranks as the store's own :meth:`Store.search_lexical` does;
and the languages the chunks were analysed in (:meth:`Store.chunk_languages`, what a query's analysis is
restricted to). Every adapter's test class subclasses :class:`LexicalFeedConformance` next to the other
conformance classes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ragd.index.lexical import LexicalIndex
from ragd.models import SearchFilters
from ragd.store.base import Store
from ragd.testing.store_conformance import CORPUS, MODEL, add_indexed, drafts, make_doc, seqs_of, vector_for

QUERIES = [
    ["apple"],
    ["apple", "cherry"],
    ["apple", "apple", "banana"],  # a repeated term weighs again
    ["kiwi", "papaya", "absent"],
    ["cherry", "date", "elderberry", "fig"],
    ["orange", "tangerine", "raspberry", "grape"],
]


def mask(store: Store, filters: SearchFilters) -> np.ndarray:
    """The boolean mask, indexed by seq, of the chunks ``filters`` lets through."""
    seqs = store.allowed_seqs(filters)
    out = np.zeros(int(seqs.max()) + 1 if len(seqs) else 0, dtype=bool)
    out[seqs] = True
    return out


def commit_in_languages(store: Store, doc_id: str, texts: list[str], languages: list[str]) -> None:
    """Commit ``texts`` as ``doc_id``'s chunks, analysed in ``languages`` (one code each)."""
    chunks = drafts(texts)
    for chunk, language in zip(chunks, languages, strict=True):
        chunk.language = language
    store.put_embeddings(MODEL, {c.content_hash: vector_for(c.content_hash) for c in chunks})
    store.commit_chunks(doc_id, chunks, [t.lower() for t in texts], MODEL)


def add_in_languages(store: Store, doc_id: str, texts: list[str], languages: list[str], **doc_fields: Any) -> None:
    """A new document whose chunks ``texts`` were analysed in ``languages``."""
    store.add_document(make_doc(doc_id, **doc_fields), enqueue=False)
    commit_in_languages(store, doc_id, texts, languages)


def assert_same_ranking(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [seq for seq, _ in got] == [seq for seq, _ in expected]
    assert [v for _, v in got] == pytest.approx([v for _, v in expected], rel=1e-9)


class LexicalFeedConformance:
    """lexical_changes_since and iter_lexical; the in-memory index built from them ranks as search_lexical."""

    def test_lexical_changes_carry_the_analysed_text(self, store: Store) -> None:
        assert store.lexical_changes_since(0) == []
        add_indexed(store, "d1", ["One Two", "Three"])
        add_indexed(store, "d2", ["Four"])
        changes = store.lexical_changes_since(0)
        ids = [c[0] for c in changes]
        assert ids == sorted(ids) and store.last_change_id() == ids[-1]
        assert sorted(lex for *_, lex in changes) == ["four", "one two", "three"]
        assert [c[0] for c in store.lexical_changes_since(ids[0], limit=1)] == [ids[1]]
        gone = set(seqs_of(store, "d1"))
        store.delete_document("d1")
        after = store.lexical_changes_since(0)
        assert [(seq, op) for _, seq, op, _ in after[3:]] == [(s, "del") for s in sorted(gone)]
        for _, seq, op, lex in after:  # add rows of chunks that no longer exist carry no text
            assert (lex is None) == (seq in gone or op == "del")

    def test_iter_lexical(self, store: Store) -> None:
        add_indexed(store, "d1", ["one", "two", "three"])
        add_indexed(store, "d2", ["four", "five"])
        store.delete_document("d1")
        batches = list(store.iter_lexical(batch=1))
        assert all(len(b) == 1 for b in batches)
        assert [row for b in batches for row in b] == [(c.seq, c.text) for c in store.list_chunks("d2")]

    def test_chunk_languages_count_live_chunks(self, store: Store) -> None:
        assert store.chunk_languages() == {}
        add_in_languages(store, "nl1", ["Het pakket", "De map", "Een bestand"], ["nl", "nl", "en"])
        add_in_languages(store, "en1", ["The package", "A folder"], ["en", "en"], collection="other")
        add_indexed(store, "old", ["unknown language"])  # a draft that does not say: unknown, ""
        assert store.chunk_languages() == {"nl": 2, "en": 3, "": 1}
        # only the chunks the filters allow: what one collection's (or tenant's) questions may match
        assert store.chunk_languages(SearchFilters(collections=["other"])) == {"en": 2}
        assert store.chunk_languages(SearchFilters(document_ids=["nl1"])) == {"nl": 2, "en": 1}
        assert store.chunk_languages(SearchFilters(collections=["nowhere"])) == {}
        commit_in_languages(store, "nl1", ["Het pakket"], ["nl"])  # recommitted: its old chunks are gone
        assert store.chunk_languages() == {"nl": 1, "en": 2, "": 1}
        assert store.delete_document("old") and store.delete_document("en1")
        assert store.chunk_languages() == {"nl": 1}

    @pytest.mark.parametrize("terms", QUERIES)
    def test_the_memory_index_ranks_as_the_store(self, corpus: Store, terms: list[str]) -> None:
        index = LexicalIndex()
        index.sync(corpus)
        assert_same_ranking(index.search(terms, 100), corpus.search_lexical(terms, None, 100))
        assert_same_ranking(index.search(terms, 2), corpus.search_lexical(terms, None, 2))
        fruit = SearchFilters(collections=["fruit"])
        assert_same_ranking(index.search(terms, 100, mask(corpus, fruit)), corpus.search_lexical(terms, fruit, 100))

    def test_the_memory_index_follows_deletes_and_replacements(self, corpus: Store) -> None:
        index = LexicalIndex()
        assert index.rebuild(corpus) == sum(len(texts) for texts, _ in CORPUS.values())
        corpus.delete_document("alpha")
        add_indexed(corpus, "late", ["apple orange", "apple"], collection="fruit")
        index.sync(corpus)
        for terms in QUERIES:
            assert_same_ranking(index.search(terms, 100), corpus.search_lexical(terms, None, 100))
        rebuilt = LexicalIndex()
        rebuilt.rebuild(corpus)
        assert rebuilt.search(["apple"], 100) == index.search(["apple"], 100)
