"""Uploads and leases in the Store contract (issue 14): duplicates and versions decided atomically, claims that take
what a worker can process now, leases renewed and held. Every adapter's test class subclasses
:class:`UploadConformance` next to :class:`ragd.testing.store_conformance.StoreConformance` (same ``store``
fixture)."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from ragd.errors import Conflict
from ragd.models import DocStatus
from ragd.store.base import Store
from ragd.testing.store_conformance import index_chunks, make_doc


class UploadConformance:
    def test_same_bytes_are_one_document_whatever_the_id(self, store: Store) -> None:
        store.add_document(make_doc("a", content="same"))
        with pytest.raises(Conflict):
            store.add_document(make_doc("b", content="same"))
        store.add_document(make_doc("c", content="same", collection="other"))  # another collection: fine
        [(doc, dup)] = store.submit_documents([make_doc("d", content="same", filename="copy.txt")])
        assert (doc.id, dup) == ("a", True) and store.get_document("d") is None
        assert store.queue_depth() == 2

    def test_concurrent_identical_submissions_insert_one(self, store: Store) -> None:
        barrier, results = threading.Barrier(8), []

        def submit(i: int) -> None:
            barrier.wait(30)
            results.extend(store.submit_documents([make_doc(f"x{i}", content="raced")]))

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len({d.id for d, _ in results}) == 1 and sum(not dup for _, dup in results) == 1
        assert store.list_documents()[1] == 1 and store.queue_depth() == 1

    def test_a_failed_duplicate_is_queued_again_once(self, store: Store) -> None:
        store.add_document(make_doc("a", content="bad"))
        [job] = store.claim_jobs("w", 1)
        store.set_status("a", DocStatus.FAILED, error="boom", error_code="parser_failed", failed_step="parsing")
        store.finish_job(job.id, ok=False, error="boom")
        [(doc, dup)] = store.submit_documents([make_doc("b", content="bad")])
        assert dup and doc.id == "a" and doc.status is DocStatus.PENDING and doc.error is None
        [(again, dup2)] = store.submit_documents([make_doc("c", content="bad")])
        assert dup2 and again.status is DocStatus.PENDING
        assert store.queue_depth() == 1  # one new job, not one per re-upload

    def test_versions_replace_what_the_uploader_may_replace(self, store: Store) -> None:
        mine = dataclasses.replace(make_doc("m1", filename="p.txt", content="1"), uploaded_by="u1")
        theirs = dataclasses.replace(make_doc("t1", filename="p.txt", content="2"), uploaded_by="u2")
        [(m1, _)] = store.submit_documents([mine], replace_others=False)
        [(t1, _)] = store.submit_documents([theirs], replace_others=False)
        assert m1.replaces is None and t1.replaces is None  # u2 may not replace u1's document
        mine2 = dataclasses.replace(make_doc("m2", filename="p.txt", content="3"), uploaded_by="u1")
        [(m2, _)] = store.submit_documents([mine2], replace_others=False)
        assert m2.replaces == "m1"
        admin = dataclasses.replace(make_doc("a1", filename="p.txt", content="4"), uploaded_by="admin")
        [(a1, _)] = store.submit_documents([admin], replace_others=True)
        assert a1.replaces == "m2"  # the newest of that name

    def test_indexing_a_version_removes_every_older_one_of_its_lineage(self, store: Store) -> None:
        [(v0, _)] = store.submit_documents([make_doc("v0", filename="p.txt", content="0")])
        versions = [store.submit_documents([make_doc(f"v{i}", filename="p.txt", content=str(i))])[0][0]
                    for i in range(1, 4)]
        other = store.submit_documents([dataclasses.replace(
            make_doc("o", filename="p.txt", content="other"), uploaded_by="u9")], replace_others=False)[0][0]
        assert other.replaces is None  # another uploader's file of the same name: a lineage of its own
        index_chunks(store, "v0", ["zero"])
        index_chunks(store, "v2", ["two"])  # v2 indexed before v1 and v3: v0 and v1 go
        assert [store.get_document(d) is None for d in ("v0", "v1", "v2", "v3")] == [True, True, False, False]
        index_chunks(store, "v3", ["three"])
        assert store.get_document("v2") is None and store.get_document("v3").status is DocStatus.INDEXED
        assert store.count_chunks() == 1 and versions[-1].id == "v3" and v0.id == "v0"

    def test_claims_take_what_fits_the_budget(self, store: Store) -> None:
        sizes = {"big": 5000, "s1": 10, "s2": 10, "big2": 5000, "s3": 10}
        for name, size in sizes.items():
            store.add_document(dataclasses.replace(make_doc(name), size=size))
        first = store.claim_jobs("w1", 10, max_bytes=1000)
        assert [j.document_id for j in first] == ["big"]  # the first is taken whatever its size
        small = store.claim_jobs("small", 10, max_size=100)
        assert [j.document_id for j in small] == ["s1", "s2", "s3"]
        rest = store.claim_jobs("w1", 10, max_bytes=1000)
        assert [j.document_id for j in rest] == ["big2"]
        assert store.get_document("s1").status is DocStatus.PENDING  # claimed, not started

    def test_leases_are_renewed_and_held(self, store: Store) -> None:
        store.add_document(make_doc("d1"))
        store.add_document(make_doc("d2"))
        [a] = store.claim_jobs("w1", 1, lease_seconds=60)
        [b] = store.claim_jobs("w1", 1, lease_seconds=-1)  # its lease has already run out
        assert store.renew_jobs("w1", [a.id], 60) == [a.id]
        [taken] = store.claim_jobs("w2", 5, lease_seconds=60)  # only the expired one is taken over
        assert taken.id == b.id and taken.attempts == 2
        assert store.renew_jobs("w1", [a.id, b.id], 60) == [a.id]  # w1 lost b
        store.finish_jobs([b.id], worker_id="w1")  # not w1's any more: nothing happens
        store.release_job(b.id, worker_id="w1")
        assert store.claim_jobs("w3", 5) == [] and store.queue_depth() == 2
        store.finish_jobs([b.id], worker_id="w2")
        store.finish_job(a.id, ok=True, worker_id="w1")
        assert store.queue_depth() == 0
