"""Folder sync (:mod:`ragd.ingest.sync`): the collection mirrors the folder — added, updated, moved, deleted,
unchanged, skipped, failed — idempotent and resumable, on the run's store backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragd.cli.sync import apply
from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest import sync as sync_mod
from ragd.ingest.sync import FolderSync, SyncReport
from ragd.models import DocStatus, SearchFilters


@pytest.fixture
def r(tmp_path: Path) -> Iterator[Ragd]:
    ragd = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))
    try:
        yield ragd
    finally:
        ragd.close()


def folder(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("The north depot repairs boilers on Mondays.")
    (root / "sub" / "a.txt").write_text("The south depot handles warranty claims.")  # same name, other folder
    (root / "sub" / "copy.txt").write_text("The north depot repairs boilers on Mondays.")  # same bytes as a.txt
    (root / "notes.md").write_text("# Refunds\n\nRefunds are paid within ten days.")
    (root / "tool.bin").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(300))  # unsupported: skipped
    (root / ".hidden.txt").write_text("never synced")
    secret = root.parent / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("outside the folder: never synced")
    (root / "link.txt").symlink_to(secret / "key.txt")  # links are not followed out of the folder
    (root / "linked").symlink_to(secret, target_is_directory=True)
    return root


def docs(r: Ragd, collection: str = "mirror") -> dict[str, str]:
    """File name → status of the collection's documents."""
    found, _ = r.store.list_documents(collection=collection, limit=100)
    return {d.filename: d.status.value for d in found}


def run(r: Ragd, root: Path) -> SyncReport:
    return apply(r, FolderSync(r, root, "mirror"), progress=False)


def test_first_sync_adds_and_a_second_changes_nothing(r: Ragd, tmp_path: Path) -> None:
    root = folder(tmp_path / "share")
    dry = FolderSync(r, root, "mirror").run(dry_run=True)  # reports, writes nothing (nor records anything)
    assert len(dry.added) == 4 and [p for p, _ in dry.skipped] == ["tool.bin"]
    assert docs(r) == {} and r.store.queue_depth() == 0

    first = run(r, root)
    assert sorted(first.added) == ["a.txt", "notes.md", "sub/a.txt", "sub/copy.txt"]
    assert [p for p, _ in first.skipped] == ["tool.bin"] and not first.failed
    # identical bytes are one document; two files of the same name in different folders are two
    assert docs(r) == {"a.txt": "indexed", "sub › a.txt": "indexed", "notes.md": "indexed"}
    assert first.submitted["a.txt"] == first.submitted["sub/copy.txt"]
    doc = r.store.get_document(first.submitted["sub/a.txt"])
    assert doc is not None and doc.metadata["source_path"] == "sub/a.txt"

    second = run(r, root)
    assert second.counts() == {"added": 0, "updated": 0, "moved": 0, "deleted": 0, "unchanged": 4,
                               "skipped": 1, "failed": 0}
    assert r.store.queue_depth() == 0 and docs(r) == {"a.txt": "indexed", "sub › a.txt": "indexed",
                                                       "notes.md": "indexed"}


def test_changed_moved_and_deleted_files(r: Ragd, tmp_path: Path) -> None:
    root = folder(tmp_path / "share")
    first = run(r, root)
    (root / "notes.md").write_text("# Refunds\n\nRefunds are now paid within five days.")
    os.utime(root / "notes.md", ns=(1, 1))  # a different time, whatever the clock's resolution
    (root / "sub" / "a.txt").rename(root / "moved.txt")
    (root / "a.txt").unlink()  # sub/copy.txt still holds the same bytes: the document stays

    report = run(r, root)
    assert report.updated == ["notes.md"] and report.moved == [("sub/a.txt", "moved.txt")]
    assert report.deleted == ["a.txt"] and report.unchanged == ["sub/copy.txt"] and not report.added
    moved = r.store.get_document(first.submitted["sub/a.txt"])
    assert moved is not None and moved.filename == "moved.txt" and moved.metadata["source_path"] == "moved.txt"
    assert moved.status is DocStatus.INDEXED  # renamed, not parsed or embedded again
    assert r.store.get_document(first.submitted["notes.md"]) is None  # the old version went once the new indexed
    assert r.store.get_document(first.submitted["a.txt"]) is not None
    assert docs(r) == {"a.txt": "indexed", "moved.txt": "indexed", "notes.md": "indexed"}
    hits = r.query("how fast are refunds paid", filters=SearchFilters(collections=["mirror"]),
                   answer=False).retrieval.hits
    assert any("five days" in h.chunk.text for h in hits)

    (root / "sub" / "copy.txt").unlink()  # the last file holding those bytes
    report = run(r, root)
    assert report.deleted == ["sub/copy.txt"]
    assert r.store.get_document(first.submitted["a.txt"]) is None
    assert docs(r) == {"moved.txt": "indexed", "notes.md": "indexed"}
    assert any(e.target == first.submitted["a.txt"] for e in r.audit.list(action="document.deleted")[0])
    renamed = r.audit.list(action="document.renamed")[0]
    assert [(e.target, e.details["from"], e.details["to"]) for e in renamed] == [
        (first.submitted["sub/a.txt"], "sub/a.txt", "moved.txt")]
    uploaded = {e.details["source_path"] for e in r.audit.list(action="document.uploaded")[0]}
    assert uploaded == {"a.txt", "sub/a.txt", "sub/copy.txt", "notes.md"}


def test_an_interrupted_sync_resumes(r: Ragd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = folder(tmp_path / "share")
    monkeypatch.setattr(sync_mod, "GROUP_FILES", 2)

    def stop(_n: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the first group was stored and recorded

    with pytest.raises(KeyboardInterrupt):
        FolderSync(r, root, "mirror").run(on_submitted=stop)
    assert len(r.store.list_documents(collection="mirror")[0]) == 2
    report = run(r, root)
    assert len(report.added) == 2 and len(report.unchanged) == 2  # the first group was not stored again
    assert docs(r) == {"a.txt": "indexed", "sub › a.txt": "indexed", "notes.md": "indexed"}


def test_a_file_that_fails_is_reported_and_one_too_large_skipped_unread(tmp_path: Path) -> None:
    root = tmp_path / "share"
    root.mkdir()
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf\n%%EOF")
    (root / "ok.txt").write_text("Plain words.")
    (root / "huge.txt").write_text("word " * 300_000)  # 1.5 MB over a 1 MiB limit
    r = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0, "max_upload_mb": 1}))
    try:
        report = run(r, root)
    finally:
        r.close()
    assert report.added == ["ok.txt"] and [p for p, _ in report.failed] == ["broken.pdf"]
    assert "failed at parsing" in report.failed[0][1]
    assert report.skipped == [("huge.txt", "[payload_too_large] 1500000 bytes; the limit is 1048576 bytes (setting "
                                           "RAGD_INGEST__MAX_UPLOAD_MB)")]
