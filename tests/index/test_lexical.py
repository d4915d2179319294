"""The in-memory BM25 index on its own: tokens as FTS5 splits them, phrases, filters, deletes, compaction.
Its agreement with the store's FTS5 ranking is pinned by the store conformance suite
(:mod:`ragd.testing.store_conformance_lexical`)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ragd.index.lexical import LexicalIndex, tokens
from ragd.store.base import Store
from ragd.testing.store_conformance import HOSTILE_TERMS, add_indexed
from ragd.testing.store_conformance_lexical import assert_same_ranking


@pytest.fixture
def store(run_store: Store) -> Store:
    return run_store


def test_tokens_split_as_unicode61() -> None:
    expected = ["o", "brien", "l", "eau", "x", "y", "3", "14", "naïve", "東京"]
    assert tokens("O'Brien l’eau x_y 3.14 naïve 東京") == expected


def test_a_term_of_several_tokens_is_a_phrase_of_all_of_them(store: Store) -> None:
    add_indexed(store, "d", ["o'brien met o'neil", "brien alone", "o brien apart"])
    index = LexicalIndex()
    index.sync(store)
    assert_same_ranking(index.search(["o'brien"], 10), store.search_lexical(["o'brien"], None, 10))
    found = {seq for seq, _ in index.search(["o'brien"], 10)}
    assert len(found) == 2  # "brien alone" lacks the "o"


def test_hostile_terms_match_nothing_or_plain_words(store: Store) -> None:
    add_indexed(store, "d", ["near or and not", "apple"])
    index = LexicalIndex()
    index.sync(store)
    for term in HOSTILE_TERMS:
        assert_same_ranking(index.search([term], 10), store.search_lexical([term], None, 10))
    assert index.search([], 10) == [] and index.search(["apple"], 0) == []


def test_the_allowed_mask_restricts_before_the_top_k(store: Store) -> None:
    add_indexed(store, "d", [f"apple {'apple ' * (i % 5)}pear {i}" for i in range(40)])
    index = LexicalIndex()
    index.sync(store)
    every = index.search(["apple"], 100)
    assert len(every) == 40
    allowed = np.zeros(max(s for s, _ in every) + 1, dtype=bool)
    weakest = [seq for seq, _ in every[-3:]]
    allowed[weakest] = True
    assert [seq for seq, _ in index.search(["apple"], 2, allowed)] == weakest[:2]
    assert index.search(["apple"], 5, np.zeros(0, dtype=bool)) == []  # a mask shorter than the seqs admits none


def test_deletes_are_forgotten_and_compacted_without_changing_scores(store: Store) -> None:
    for i in range(10):
        add_indexed(store, f"d{i}", [f"common word{i} text", "common filler"])
    index = LexicalIndex()
    index.sync(store)
    postings_before = index._postings
    for i in range(7):
        store.delete_document(f"d{i}")
    index.sync(store)
    assert len(index) == 6
    assert index._postings < postings_before and index._dead * 2 <= index._postings  # compacted
    for terms in (["common"], ["word8", "filler"], ["word1"]):
        assert_same_ranking(index.search(terms, 100), store.search_lexical(terms, None, 100))


def test_searches_run_while_another_thread_syncs(store: Store) -> None:
    index = LexicalIndex()
    index.sync(store)
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(200):
                for seq, score in index.search(["alpha", "beta"], 5):
                    assert seq >= 0 and score > 0
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=search)
    reader.start()
    for i in range(30):
        add_indexed(store, f"d{i}", [f"alpha beta {i}", "beta gamma"])
        index.sync(store)
    reader.join()
    assert not errors
    assert_same_ranking(index.search(["alpha", "beta"], 100), store.search_lexical(["alpha", "beta"], None, 100))
