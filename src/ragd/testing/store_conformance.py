"""The conformance suite every :class:`~ragd.store.base.Store` adapter must pass.

Subclass :class:`StoreConformance` in the adapter's tests and provide a ``store`` fixture yielding a fresh,
migrated, empty store::

    class TestSqliteStore(StoreConformance):
        @pytest.fixture
        def store(self, tmp_path):
            store = SqliteStore(tmp_path / "ragd.sqlite3")
            store.migrate()
            yield store
            store.close()

The tests pin the semantics written in :mod:`ragd.store.base`; where the port's docstrings leave a choice open
they pin the one every adapter must share (``Conflict`` on a duplicate id, ``DocumentNotFound`` on a status
change of an unknown document, ``ValueError`` when ``commit_chunks`` lacks a cached embedding).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from ragd.errors import Conflict, DocumentNotFound, InvalidFilter
from ragd.models import ChunkDraft, DocStatus, Document, ParsedRecord, SearchFilters
from ragd.store.base import Store

MODEL = "conformance-model"
DIM = 8

HOSTILE_TERMS = [
    '"',
    '""',
    "*",
    "NEAR",
    "OR",
    "AND",
    "NOT",
    "(",
    ")",
    'a"b',
    "col:x",
    "^",
    "-",
    "+",
    "{lex}",
    "near/3",
    "'",
    "\\",
    "%",
    "_",
    ";",
    "\x00",
    " ",
    "",
    "ünïcödé",
    "x" * 500,
]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def vector_for(hash_: str, dim: int = DIM) -> np.ndarray:
    """A deterministic unit vector for a content hash."""
    rng = np.random.default_rng(int(hash_[:12], 16))
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def make_doc(
    doc_id: str,
    *,
    collection: str = "default",
    filename: str | None = None,
    mime: str = "text/plain",
    content: str | None = None,
    metadata: dict[str, Any] | None = None,
    replaces: str | None = None,
) -> Document:
    return Document(
        id=doc_id,
        collection=collection,
        filename=filename or f"{doc_id}.txt",
        content_hash=content_hash(content or doc_id),
        mime=mime,
        size=len(content or doc_id),
        metadata=dict(metadata or {}),
        replaces=replaces,
    )


def drafts(texts: Sequence[str]) -> list[ChunkDraft]:
    out, offset = [], 0
    for i, text in enumerate(texts):
        out.append(
            ChunkDraft(
                ordinal=i,
                text=text,
                start=offset,
                end=offset + len(text),
                page_start=i + 1,
                page_end=i + 1,
                heading_path=["Title", f"Section {i}"],
                token_count=len(text.split()),
                content_hash=content_hash(text),
            )
        )
        offset += len(text) + 1
    return out


def index_chunks(store: Store, doc_id: str, texts: Sequence[str], model: str = MODEL) -> None:
    """Cache embeddings for ``texts`` and commit them as ``doc_id``'s chunks (lexical text = lowercased)."""
    chunks = drafts(texts)
    store.put_embeddings(model, {c.content_hash: vector_for(c.content_hash) for c in chunks})
    store.commit_chunks(doc_id, chunks, [t.lower() for t in texts], model)


def add_indexed(store: Store, doc_id: str, texts: Sequence[str], **doc_fields: Any) -> Document:
    doc = store.add_document(make_doc(doc_id, **doc_fields), enqueue=False)
    index_chunks(store, doc_id, texts)
    return doc


def seqs_of(store: Store, doc_id: str) -> list[int]:
    return [c.seq for c in store.list_chunks(doc_id)]


# A corpus large enough for BM25's idf to be positive for the rarer terms.
CORPUS: dict[str, tuple[list[str], dict[str, Any]]] = {
    "alpha": (
        ["apple apple apple banana", "apple cherry"],
        {"collection": "fruit", "metadata": {"lang": "en"}},
    ),
    "beta": (
        ["cherry date elderberry", "fig grape"],
        {"collection": "fruit", "mime": "text/markdown", "metadata": {"lang": "fr", "year": 2020}},
    ),
    "gamma": (
        ["kiwi lemon mango", "nectarine orange apple"],
        {"collection": "other", "metadata": {"lang": "de", "draft": True}},
    ),
    "delta": (
        ["papaya quince", "raspberry strawberry", "tangerine ugli"],
        {"collection": "other", "metadata": {"lang": "en", "year": 2021}},
    ),
}


class StoreConformance:
    """Tests every Store adapter shares; subclasses provide a ``store`` fixture (fresh, migrated, empty) and also
    subclass :class:`ragd.testing.store_conformance_jobs.JobQueueConformance` for the job queue."""

    @pytest.fixture
    def corpus(self, store: Store) -> Store:
        for doc_id, (texts, fields) in CORPUS.items():
            add_indexed(store, doc_id, texts, **fields)
        return store

    def lexical_docs(self, store: Store, terms: Sequence[str], filters: SearchFilters | None = None) -> set[str]:
        hits = store.search_lexical(terms, filters, 100)
        return {c.document_id for c in store.get_chunks([seq for seq, _ in hits])}

    # -- lifecycle and metadata ------------------------------------------------------------------------------
    def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store)

    def test_migrate_is_idempotent(self, store: Store) -> None:
        add_indexed(store, "d1", ["hello world"])
        store.migrate()
        store.migrate()
        assert store.get_document("d1") is not None
        assert store.count_chunks() == 1

    def test_meta_get_set(self, store: Store) -> None:
        assert store.get_meta("k") is None
        store.set_meta("k", "v1")
        store.set_meta("k", "v2")
        store.set_meta("other", "x")
        assert store.get_meta("k") == "v2"
        assert store.get_meta("other") == "x"

    # -- documents -------------------------------------------------------------------------------------------
    def test_add_and_get_document(self, store: Store) -> None:
        before = time.time()
        doc = make_doc("d1", collection="c", metadata={"lang": "fr", "tags": ["a", "b"], "n": 3})
        stored = store.add_document(doc)
        assert stored.status is DocStatus.PENDING
        assert before - 1 <= stored.created_at <= time.time() + 1
        assert stored.updated_at == stored.created_at
        got = store.get_document("d1")
        assert got == stored
        assert got is not None and got.metadata == {"lang": "fr", "tags": ["a", "b"], "n": 3}
        assert store.queue_depth() == 1
        store.add_document(make_doc("d2"), enqueue=False)
        assert store.queue_depth() == 1
        assert store.get_document("missing") is None

    def test_add_duplicate_id_conflicts(self, store: Store) -> None:
        store.add_document(make_doc("d1"))
        with pytest.raises(Conflict):
            store.add_document(make_doc("d1", filename="other.txt"))
        assert store.queue_depth() == 1

    def test_find_document(self, store: Store) -> None:
        store.add_document(make_doc("old", filename="a.txt", content="v1"))
        store.add_document(make_doc("new", filename="a.txt", content="v2"))
        store.add_document(make_doc("elsewhere", collection="x", filename="a.txt", content="v2"))
        assert store.find_document("default", filename="a.txt").id == "new"
        assert store.find_document("default", content_hash=content_hash("v1")).id == "old"
        assert store.find_document("default", content_hash=content_hash("v2"), filename="a.txt").id == "new"
        assert store.find_document("default", content_hash=content_hash("v1"), filename="b.txt") is None
        assert store.find_document("x", content_hash=content_hash("v2")).id == "elsewhere"
        assert store.find_document("nowhere", filename="a.txt") is None

    def test_list_documents_pagination_and_totals(self, store: Store) -> None:
        for i in range(5):
            store.add_document(make_doc(f"d{i}", collection="a" if i % 2 == 0 else "b"))
        store.set_status("d1", DocStatus.FAILED, error="boom", error_code="document_corrupt", failed_step="parsing")
        docs, total = store.list_documents()
        assert total == 5 and [d.id for d in docs] == ["d4", "d3", "d2", "d1", "d0"]
        docs, total = store.list_documents(limit=2, offset=2)
        assert total == 5 and [d.id for d in docs] == ["d2", "d1"]
        docs, total = store.list_documents(collection="a", limit=1)
        assert total == 3 and [d.id for d in docs] == ["d4"]
        docs, total = store.list_documents(status=DocStatus.FAILED)
        assert total == 1 and docs[0].id == "d1"
        docs, total = store.list_documents(collection="b", status=DocStatus.PENDING)
        assert total == 1 and docs[0].id == "d3"
        assert store.list_documents(offset=10) == ([], 5)

    def test_status_of_many_documents_at_once(self, store: Store) -> None:
        for d in ("m1", "m2", "m3"):
            store.add_document(make_doc(d))
        store.set_status("m1", DocStatus.FAILED, error="x", error_code="y", failed_step="parsing")
        store.set_status_many(["m1", "m2", "nope"], DocStatus.EMBEDDING)
        got = {d: store.get_document(d) for d in ("m1", "m2", "m3")}
        assert got["m1"].status == got["m2"].status == DocStatus.EMBEDDING and got["m1"].error is None
        assert got["m3"].status == DocStatus.PENDING
        store.set_status_many([], DocStatus.INDEXED)  # nothing to do

    def test_status_transitions_and_error_fields(self, store: Store) -> None:
        store.add_document(make_doc("d1"))
        store.set_status("d1", DocStatus.PARSING)
        store.set_status("d1", DocStatus.CHUNKING, pages=12, title="A title")
        doc = store.get_document("d1")
        assert (doc.status, doc.pages, doc.title) == (DocStatus.CHUNKING, 12, "A title")
        store.set_status("d1", DocStatus.FAILED, error="no text", error_code="no_text_found", failed_step="parsing")
        doc = store.get_document("d1")
        assert (doc.status, doc.error, doc.error_code, doc.failed_step) == (
            DocStatus.FAILED,
            "no text",
            "no_text_found",
            "parsing",
        )
        assert (doc.pages, doc.title) == (12, "A title")
        assert doc.updated_at >= doc.created_at
        store.set_status("d1", DocStatus.PARSING)
        doc = store.get_document("d1")
        assert (doc.status, doc.error, doc.error_code, doc.failed_step) == (
            DocStatus.PARSING,
            None,
            None,
            None,
        )
        with pytest.raises(DocumentNotFound):
            store.set_status("missing", DocStatus.PARSING)

    def test_text_save_and_get(self, store: Store) -> None:
        store.add_document(make_doc("d1"))
        assert store.get_text("d1") is None
        store.record_parsed([ParsedRecord("d1", "first")])
        store.record_parsed([ParsedRecord("d1", "second — with ünïcode")])  # a second parse replaces the text
        assert store.get_text("d1") == "second — with ünïcode"
        assert store.get_text("missing") is None

    # -- chunks ----------------------------------------------------------------------------------------------
    def test_commit_chunks_stores_chunks(self, store: Store) -> None:
        store.add_document(make_doc("d1", collection="c", mime="text/markdown", metadata={"k": "v"}))
        texts = ["First chunk text", "Second chunk", "Third"]
        index_chunks(store, "d1", texts)
        doc = store.get_document("d1")
        assert (doc.status, doc.num_chunks) == (DocStatus.INDEXED, 3)
        chunks = store.list_chunks("d1")
        assert [c.ordinal for c in chunks] == [0, 1, 2]
        first = chunks[0]
        draft = drafts(texts)[0]
        assert first.id == "d1:0" and first.document_id == "d1"
        assert (first.collection, first.filename, first.mime) == ("c", "d1.txt", "text/markdown")
        assert first.metadata == {"k": "v"}
        assert (first.text, first.start, first.end) == (draft.text, draft.start, draft.end)
        assert (first.page_start, first.page_end, first.heading_path) == (1, 1, ["Title", "Section 0"])
        assert first.content_hash == draft.content_hash
        seqs = [c.seq for c in chunks]
        assert len(set(seqs)) == 3 and seqs == sorted(seqs)
        assert store.get_chunk("d1:1") == chunks[1]
        assert store.get_chunk("d1:9") is None
        assert [c.id for c in store.get_chunks([seqs[2], 999_999, seqs[0]])] == ["d1:2", "d1:0"]
        assert store.get_chunks([]) == []
        assert store.count_chunks() == 3 and store.count_chunks("c") == 3 and store.count_chunks("x") == 0

    def test_commit_chunks_replaces_previous_chunks(self, store: Store) -> None:
        add_indexed(store, "d1", ["obsolete words here", "more obsolete"])
        old = seqs_of(store, "d1")
        mark = store.last_change_id()
        index_chunks(store, "d1", ["fresh words"])
        new = seqs_of(store, "d1")
        assert len(new) == 1 and min(new) > max(old)
        assert store.get_document("d1").num_chunks == 1
        assert store.search_lexical(["obsolete"], None, 10) == []
        assert [s for s, _ in store.search_lexical(["fresh"], None, 10)] == new
        changes = [(seq, op) for _, seq, op, _ in store.changes_since(MODEL, mark)]
        assert sorted(changes) == sorted([(s, "del") for s in old] + [(s, "add") for s in new])

    def test_commit_chunks_with_replaces_deletes_old_document(self, store: Store) -> None:
        add_indexed(store, "v1", ["version one"], filename="a.txt", content="one")
        store.record_parsed([ParsedRecord("v1", "version one")])
        old = seqs_of(store, "v1")
        add_indexed(store, "v2", ["version two"], filename="a.txt", content="two", replaces="v1")
        assert store.get_document("v1") is None
        assert store.list_chunks("v1") == [] and store.get_text("v1") is None
        assert store.get_document("v2").status is DocStatus.INDEXED
        assert self.lexical_docs(store, ["version"]) == {"v2"}
        dels = {seq for _, seq, op, _ in store.changes_since(MODEL, 0) if op == "del"}
        assert dels == set(old)

    def test_commit_chunks_requires_cached_embeddings(self, store: Store) -> None:
        add_indexed(store, "d1", ["kept chunk"])
        before = store.last_change_id()
        with pytest.raises(ValueError):
            store.commit_chunks("d1", drafts(["never embedded"]), ["never embedded"], MODEL)
        assert [c.text for c in store.list_chunks("d1")] == ["kept chunk"]
        assert store.last_change_id() == before
        with pytest.raises(DocumentNotFound):
            index_chunks(store, "missing", ["x"])

    def test_seqs_are_never_reused(self, store: Store) -> None:
        add_indexed(store, "d1", ["a b", "c d"])
        highest = max(seqs_of(store, "d1"))
        assert store.delete_document("d1")
        add_indexed(store, "d2", ["e f"])
        assert min(seqs_of(store, "d2")) > highest

    def test_delete_cascades(self, store: Store) -> None:
        add_indexed(store, "d1", ["doomed text", "doomed again"])
        add_indexed(store, "d2", ["survivor text"])
        store.record_parsed([ParsedRecord("d1", "doomed text doomed again")])
        store.enqueue_job("d1")
        seqs = seqs_of(store, "d1")
        mark = store.last_change_id()
        assert store.delete_document("d1") is True
        assert store.get_document("d1") is None and store.get_text("d1") is None
        assert store.list_chunks("d1") == [] and store.get_chunks(seqs) == []
        assert store.queue_depth() == 0
        assert store.search_lexical(["doomed"], None, 10) == []
        assert self.lexical_docs(store, ["text"]) == {"d2"}
        assert set(store.allowed_seqs(SearchFilters()).tolist()) == set(seqs_of(store, "d2"))
        changes = sorted((seq, op) for _, seq, op, _ in store.changes_since(MODEL, mark))
        assert changes == [(s, "del") for s in seqs]
        assert store.delete_document("d1") is False

    # -- embedding cache -------------------------------------------------------------------------------------
    def test_embedding_cache(self, store: Store) -> None:
        assert store.get_embeddings(MODEL, ["h1"]) == {}
        assert store.get_embeddings(MODEL, []) == {}
        v1 = np.linspace(-1, 1, DIM, dtype=np.float32)
        store.put_embeddings(MODEL, {"h1": v1, "h2": v1 * 2})
        store.put_embeddings(MODEL, {"h1": np.zeros(DIM, dtype=np.float32)})  # existing entries are kept
        got = store.get_embeddings(MODEL, ["h1", "h2", "h3"])
        assert set(got) == {"h1", "h2"}
        assert got["h1"].dtype == np.float32 and got["h1"].shape == (DIM,)
        np.testing.assert_array_equal(got["h1"], v1)
        np.testing.assert_array_equal(got["h2"], v1 * 2)
        assert store.get_embeddings("other-model", ["h1"]) == {}

    # -- lexical search --------------------------------------------------------------------------------------
    def test_lexical_ranking(self, corpus: Store) -> None:
        hits = corpus.search_lexical(["apple"], None, 10)
        chunks = corpus.get_chunks([s for s, _ in hits])
        assert chunks[0].text == "apple apple apple banana"
        assert {c.document_id for c in chunks} == {"alpha", "gamma"}
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
        either = corpus.search_lexical(["kiwi", "papaya"], None, 10)
        texts = {c.text for c in corpus.get_chunks([s for s, _ in either])}
        assert texts == {"kiwi lemon mango", "papaya quince"}
        both = corpus.search_lexical(["cherry", "date"], None, 10)
        assert corpus.get_chunks([both[0][0]])[0].text == "cherry date elderberry"
        assert len(corpus.search_lexical(["apple", "cherry", "fig"], None, 2)) == 2
        assert corpus.search_lexical([], None, 10) == []
        assert corpus.search_lexical(["absent"], None, 10) == []
        assert corpus.search_lexical(["apple"], None, 0) == []

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            (SearchFilters(collections=["fruit"]), {"alpha", "beta"}),
            (SearchFilters(collections=["fruit", "other"]), {"alpha", "beta", "gamma", "delta"}),
            (SearchFilters(collections=["none"]), set()),
            (SearchFilters(document_ids=["beta", "delta"]), {"beta", "delta"}),
            (SearchFilters(mimes=["text/markdown"]), {"beta"}),
            (SearchFilters(metadata={"lang": "en"}), {"alpha", "delta"}),
            (SearchFilters(metadata={"lang": ["fr", "de"]}), {"beta", "gamma"}),
            (SearchFilters(metadata={"year": 2021}), {"delta"}),
            (SearchFilters(metadata={"year": [2020, 2021]}), {"beta", "delta"}),
            (SearchFilters(metadata={"year": "2020"}), set()),
            (SearchFilters(metadata={"draft": True}), {"gamma"}),
            (SearchFilters(metadata={"draft": 1}), set()),
            (SearchFilters(metadata={"missing": "x"}), set()),
            (SearchFilters(metadata={"lang": "en", "year": 2021}), {"delta"}),
            (SearchFilters(collections=["fruit"], metadata={"lang": "en"}), {"alpha"}),
            (SearchFilters(collections=["other"], document_ids=["alpha", "gamma"]), {"gamma"}),
            (SearchFilters(collections=[], document_ids=[]), {"alpha", "beta", "gamma", "delta"}),
        ],
    )
    def test_lexical_filters(self, corpus: Store, filters: SearchFilters, expected: set[str]) -> None:
        terms = ["apple", "cherry", "fig", "kiwi", "papaya", "raspberry", "tangerine", "orange"]
        assert self.lexical_docs(corpus, terms, filters) == expected
        allowed = corpus.allowed_seqs(filters)
        assert allowed.dtype == np.int64
        expected_seqs = {s for doc_id in expected for s in seqs_of(corpus, doc_id)}
        assert set(allowed.tolist()) == expected_seqs and len(allowed) == len(expected_seqs)

    @pytest.mark.parametrize(
        "filters",
        [
            SearchFilters(metadata={"k": {"nested": 1}}),
            SearchFilters(metadata={"k": None}),
            SearchFilters(metadata={"k": []}),
            SearchFilters(metadata={"k": [["a"]]}),
            SearchFilters(metadata={"": "x"}),
            SearchFilters(metadata=["k", "v"]),  # type: ignore[arg-type]
            SearchFilters(collections="fruit"),  # type: ignore[arg-type]
            SearchFilters(document_ids=[1, 2]),  # type: ignore[list-item]
        ],
    )
    def test_invalid_filters_raise(self, corpus: Store, filters: SearchFilters) -> None:
        with pytest.raises(InvalidFilter):
            corpus.search_lexical(["apple"], filters, 10)
        with pytest.raises(InvalidFilter):
            corpus.allowed_seqs(filters)

    def test_hostile_terms_never_raise(self, corpus: Store) -> None:
        add_indexed(corpus, "syntax", ["near or and not"])
        for term in HOSTILE_TERMS:
            assert isinstance(corpus.search_lexical([term], None, 10), list)
            fruit = SearchFilters(collections=["fruit"])
            assert isinstance(corpus.search_lexical([term, "apple"], fruit, 10), list)
        assert isinstance(corpus.search_lexical(HOSTILE_TERMS, None, 10), list)
        for word in ("near", "or", "and", "not"):  # query keywords are matched as plain words
            assert self.lexical_docs(corpus, [word]) == {"syntax"}

    def test_allowed_seqs_without_filters_is_everything(self, corpus: Store) -> None:
        everything = {s for doc_id in CORPUS for s in seqs_of(corpus, doc_id)}
        assert set(corpus.allowed_seqs(SearchFilters()).tolist()) == everything

    # -- change log ------------------------------------------------------------------------------------------
    def test_change_log(self, store: Store) -> None:
        assert store.last_change_id() == 0 and store.changes_since(MODEL, 0) == []
        add_indexed(store, "d1", ["one", "two"])
        add_indexed(store, "d2", ["three"])
        changes = store.changes_since(MODEL, 0)
        ids = [c[0] for c in changes]
        assert ids == sorted(ids) and len(set(ids)) == 3 and store.last_change_id() == ids[-1]
        assert [op for _, _, op, _ in changes] == ["add"] * 3
        by_seq = {c.seq: c for c in store.list_chunks("d1") + store.list_chunks("d2")}
        for _, seq, _, vector in changes:
            np.testing.assert_allclose(vector, vector_for(by_seq[seq].content_hash))
        assert [c[0] for c in store.changes_since(MODEL, ids[0], limit=1)] == [ids[1]]
        assert all(v is None for *_, v in store.changes_since("other-model", 0))
        gone = set(seqs_of(store, "d1"))
        store.delete_document("d1")
        after = store.changes_since(MODEL, 0)
        assert [(seq, op) for _, seq, op, _ in after[3:]] == [(s, "del") for s in sorted(gone)]
        for _, seq, _, vector in after:  # add rows of chunks that no longer exist carry no vector
            assert (vector is None) == (seq in gone)
        assert store.last_change_id() == after[-1][0]

    def test_iter_vectors(self, store: Store) -> None:
        add_indexed(store, "d1", ["one", "two", "three"])
        add_indexed(store, "d2", ["four", "five"])
        store.delete_document("d1")
        add_indexed(store, "d3", ["six"])
        batches = list(store.iter_vectors(MODEL, batch=2))
        assert all(len(seqs) <= 2 for seqs, _ in batches)
        seqs = np.concatenate([s for s, _ in batches])
        vectors = np.concatenate([v for _, v in batches])
        assert seqs.dtype == np.int64 and vectors.dtype == np.float32 and vectors.shape == (3, DIM)
        live = {c.seq: c for c in store.list_chunks("d2") + store.list_chunks("d3")}
        assert seqs.tolist() == sorted(live)
        for seq, vector in zip(seqs.tolist(), vectors, strict=True):
            np.testing.assert_allclose(vector, vector_for(live[seq].content_hash))
        assert list(store.iter_vectors("other-model")) == []
