"""One document that crashes its own processing fails alone, with its reason, and the rest of its batch is
indexed (issue 14: it used to fail the whole batch of up to 1,024 documents as internal_error after 3 attempts).
Uploading the failed bytes again queues it again instead of answering "duplicate"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest.loaders import LOADERS
from ragd.ingest.pipeline import Upload
from ragd.models import Block, DocStatus, ParsedDocument

SURROGATES = "application/x-ragd-test-surrogates"


def load_with_surrogates(data: bytes, filename: str) -> ParsedDocument:
    """A loader that decodes with ``surrogateescape``, as a careless plugin might: undecodable bytes become lone
    surrogates, which no UTF-8 encoder (hashing, the database) accepts."""
    text = data.decode("utf-8", "surrogateescape")
    return ParsedDocument(text=text, blocks=[Block("paragraph", text, 0, len(text))], mime=SURROGATES)


@pytest.fixture
def r(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ragd]:
    monkeypatch.setitem(LOADERS, SURROGATES, load_with_surrogates)  # registered like any loader
    inst = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0, "max_attempts": 3}))
    yield inst
    inst.close()


def test_one_crashing_document_fails_alone_with_its_reason(r: Ragd) -> None:
    healthy = [Upload(f"Healthy note {i}: the boiler is serviced every {i + 1} months.".encode(), f"n{i}.txt")
               for i in range(5)]
    bad = Upload(b"broken \xff\xfe bytes", "broken.dat", mime=SURROGATES)
    subs = r.submit_many([*healthy[:2], bad, *healthy[2:]])
    r.workers.drain()
    by_name = {s.document.filename: r.get_document(s.document.id) for s in subs}
    failed = by_name.pop("broken.dat")
    assert failed.status is DocStatus.FAILED and failed.error_code == "parser_failed"
    assert failed.failed_step == "chunking" and "failed unexpectedly on this file" in (failed.error or "")
    assert {d.status for d in by_name.values()} == {DocStatus.INDEXED}
    assert r.store.queue_depth() == 0

    # the healthy files again: duplicates of indexed documents; the failed one again: queued for a new try
    again = r.submit_many([*healthy, Upload(bad.data, bad.filename, mime=SURROGATES)])
    assert all(s.duplicate for s in again)
    assert {s.document.status for s in again[:5]} == {DocStatus.INDEXED}
    assert again[5].document.id == failed.id and again[5].document.status is DocStatus.PENDING
    assert r.store.queue_depth() == 1
    r.workers.drain()
    assert r.get_document(failed.id).error_code == "parser_failed"
