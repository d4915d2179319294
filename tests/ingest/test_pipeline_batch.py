"""The batched ingestion path on a real instance: several files stored with one durable write, processed as one
group, a document deleted mid-batch dropped without failing the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragd.config import Settings
from ragd.core import Ragd
from ragd.errors import UnsupportedMediaType
from ragd.ingest.pipeline import Upload
from ragd.models import DocStatus


@pytest.fixture
def r(tmp_path: Path) -> Iterator[Ragd]:
    inst = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))
    yield inst
    inst.close()


def test_submit_many_dedupes_and_versions_within_the_batch(r: Ragd) -> None:
    first, dup, newer, other = r.submit_many([
        Upload(b"Refunds take fourteen days.", "policy.txt"),
        Upload(b"Refunds take fourteen days.", "copy.txt"),
        Upload(b"Refunds take seven days.", "policy.txt"),
        Upload(b"Deliveries take three days.", "delivery.txt"),
    ])
    assert not first.duplicate and dup.duplicate and dup.document.id == first.document.id
    assert newer.document.replaces == first.document.id and not other.duplicate
    assert all(s.document.status is DocStatus.PENDING and s.document.created_at for s in (first, newer, other))
    assert r.store.queue_depth() == 3
    r.workers.drain()
    assert r.store.get_document(first.document.id) is None  # replaced by its newer version
    assert r.get_document(newer.document.id).status is DocStatus.INDEXED
    assert r.get_document(other.document.id).status is DocStatus.INDEXED
    again = r.submit_many([Upload(b"Deliveries take three days.", "delivery.txt")])
    assert again[0].duplicate and again[0].document.id == other.document.id


def test_a_rejected_file_stores_nothing(r: Ragd) -> None:
    with pytest.raises(UnsupportedMediaType):
        r.submit_many([Upload(b"fine text", "a.txt"), Upload(b"\x7fELF\x02\x01\x01" + bytes(200), "tool.bin")])
    assert r.store.list_documents()[1] == 0 and list(r.files.iter_keys()) == []


def test_a_document_deleted_mid_batch_is_dropped_and_the_others_indexed(r: Ragd) -> None:
    subs = r.submit_many([Upload(f"Passage number {i} about topic {i}.".encode(), f"p{i}.txt") for i in range(4)])
    victim = subs[2].document.id
    real = r.store.record_parsed

    def delete_then_record(entries):  # type: ignore[no-untyped-def]
        if r.store.get_document(victim) is not None:
            r.store.delete_document(victim)
        return real(entries)

    r.store.record_parsed = delete_then_record  # type: ignore[method-assign]
    r.workers.drain()
    assert r.store.get_document(victim) is None
    for s in subs:
        if s.document.id != victim:
            assert r.get_document(s.document.id).status is DocStatus.INDEXED
    assert r.store.count_chunks() == 3 and r.store.queue_depth() == 0
