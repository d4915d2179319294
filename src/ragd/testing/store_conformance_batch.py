"""The batched writes of the Store contract (one transaction for many documents, the ingestion fast path): every
adapter's test class subclasses :class:`BatchConformance` next to the other conformance classes."""

from __future__ import annotations

import pytest

from ragd.errors import DocumentNotFound
from ragd.models import DocStatus, ParsedRecord
from ragd.store.base import Store
from ragd.testing.store_conformance import MODEL, drafts, make_doc, vector_for


class BatchConformance:
    """add_documents, claim_jobs/finish_jobs, record_parsed, commit_chunks_many: all or nothing."""

    def test_add_documents_queues_each_in_order(self, store: Store) -> None:
        stored = store.add_documents([make_doc(f"d{i}") for i in range(5)])
        assert [d.id for d in stored] == [f"d{i}" for i in range(5)]
        assert all(d.status is DocStatus.PENDING and d.created_at for d in stored)
        assert store.queue_depth() == 5
        assert store.add_documents([]) == []

    def test_add_documents_is_all_or_nothing(self, store: Store) -> None:
        store.add_document(make_doc("taken"))
        with pytest.raises(Exception):  # noqa: B017 - the adapter's Conflict
            store.add_documents([make_doc("fresh"), make_doc("taken")])
        assert store.get_document("fresh") is None
        assert store.queue_depth() == 1

    def test_claim_jobs_takes_the_oldest_and_never_twice(self, store: Store) -> None:
        store.add_documents([make_doc(f"d{i}") for i in range(5)])
        first = store.claim_jobs("w1", 3)
        assert [j.document_id for j in first] == ["d0", "d1", "d2"]
        assert all(j.status == "running" and j.attempts == 1 for j in first)
        rest = store.claim_jobs("w2", 10)
        assert [j.document_id for j in rest] == ["d3", "d4"]
        assert store.claim_jobs("w3", 10) == []
        store.finish_jobs([j.id for j in first + rest])
        assert store.queue_depth() == 0

    def test_claim_jobs_reclaims_expired_leases(self, store: Store) -> None:
        store.add_documents([make_doc("a"), make_doc("b")])
        crashed = store.claim_jobs("crashed", 1, lease_seconds=-1)  # already expired
        again = store.claim_jobs("w", 5)
        assert [j.document_id for j in again] == ["a", "b"]
        assert again[0].id == crashed[0].id and again[0].attempts == 2

    def test_record_parsed_stores_texts_and_moves_to_chunking(self, store: Store) -> None:
        store.add_documents([make_doc("a"), make_doc("b")])
        store.record_parsed([ParsedRecord("a", "text of a", 3, "Title A"), ParsedRecord("b", "text of b")])
        a, b = store.get_document("a"), store.get_document("b")
        assert (a.status, a.pages, a.title) == (DocStatus.CHUNKING, 3, "Title A")
        assert (b.status, b.pages, b.title) == (DocStatus.CHUNKING, None, None)
        assert store.get_text("a") == "text of a" and store.get_text("b") == "text of b"

    def test_record_parsed_of_a_vanished_document_writes_nothing(self, store: Store) -> None:
        store.add_document(make_doc("a"))
        with pytest.raises(DocumentNotFound):
            store.record_parsed([ParsedRecord("a", "text of a"), ParsedRecord("gone", "x")])
        assert store.get_text("a") is None and store.get_document("a").status is DocStatus.PENDING

    def test_commit_chunks_many(self, store: Store) -> None:
        store.add_documents([make_doc("a"), make_doc("b")])
        items = [("a", drafts(["alpha one", "alpha two"]), ["alpha one", "alpha two"]),
                 ("b", drafts(["beta"]), ["beta"])]
        store.put_embeddings(MODEL, {c.content_hash: vector_for(c.content_hash) for _, cs, _ in items for c in cs})
        store.commit_chunks_many(items, MODEL)
        assert [store.get_document(d).num_chunks for d in ("a", "b")] == [2, 1]
        assert store.get_document("b").status is DocStatus.INDEXED
        assert store.count_chunks() == 3

    def test_commit_chunks_many_is_all_or_nothing(self, store: Store) -> None:
        store.add_document(make_doc("a"))
        chunks = drafts(["alpha"])
        store.put_embeddings(MODEL, {chunks[0].content_hash: vector_for(chunks[0].content_hash)})
        with pytest.raises(DocumentNotFound):
            store.commit_chunks_many([("a", chunks, ["alpha"]), ("gone", chunks, ["alpha"])], MODEL)
        assert store.count_chunks() == 0 and store.get_document("a").status is DocStatus.PENDING
        with pytest.raises(ValueError):
            store.commit_chunks_many([("a", drafts(["never embedded"]), ["never embedded"])], MODEL)
        assert store.count_chunks() == 0
