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


def test_the_chunkers_token_ids_reach_the_model_and_give_the_texts_vectors(r: Ragd) -> None:
    """A short text is tokenized once: the chunker's ids go to the model (not the text again), and the stored
    vector is the text's own. A chunk embedded with its heading path is tokenized from its text."""
    seen: list[list[list[int] | None] | None] = []
    real = r.embedder.embed

    def spy(texts, token_ids=None):  # type: ignore[no-untyped-def]
        seen.append(None if token_ids is None else list(token_ids))
        return real(texts, token_ids)

    r.embedder.embed = spy  # type: ignore[method-assign]
    text = "Refunds are paid within fourteen days of the request."
    md = "# Refunds\n\nRefunds are paid within fourteen days.\n\n## Delays\n\nA bank may add three days."
    plain, headed = r.submit_many([Upload(text.encode(), "policy.txt"), Upload(md.encode(), "policy.md")])
    r.workers.drain()
    assert r.get_document(plain.document.id).status is DocStatus.INDEXED
    assert r.get_document(headed.document.id).status is DocStatus.INDEXED
    (ids,) = seen
    assert ids is not None and r.embedder.token_ids([text])[0] in ids
    assert None in ids  # the markdown sections carry headings: their texts are tokenized by the model
    (chunk,) = r.store.list_chunks(plain.document.id)
    stored = r.store.get_embeddings(r.embedder.name, [chunk.content_hash])[chunk.content_hash]
    assert float(stored @ real([text])[0]) > 0.99999
