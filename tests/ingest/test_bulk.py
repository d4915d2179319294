"""Loading a folder: files stored in groups on a helper thread while the queued ones are indexed (``ragd ingest``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest import bulk
from ragd.models import DocStatus


def make_folder(root: Path, n: int) -> list[Path]:
    root.mkdir()
    files = []
    for i in range(n):
        files.append(root / f"note{i:03d}.md")
        files[-1].write_text(f"# Note {i}\n\nThe warehouse number {i} opens at {i % 12 + 1} o'clock.\n")
    (root / "copy.md").write_bytes(files[0].read_bytes())  # identical bytes: the same document
    (root / "tool.bin").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(300))  # refused before storing
    return sorted(root.iterdir())


def test_every_file_is_stored_then_indexed_in_groups(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(bulk, "GROUP_FILES", 7)  # several groups, so indexing starts while files are still stored
    files = make_folder(tmp_path / "docs", 30)
    r = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))
    queued: list[int] = []
    done: list[str] = []
    try:
        res = bulk.ingest_files(r, files, collection="notes", on_queued=queued.append,
                                on_done=lambda _d, status: done.append(status))
        assert [f.name for f, _ in res.rejected] == ["tool.bin"]
        assert sum(queued) == len(files) and len(queued) > 4
        assert len(res.ids) == 31 and len(set(res.ids)) == 30  # the copy is the first note's document
        assert done == ["indexed"] * 30 and r.store.queue_depth() == 0
        assert all(r.get_document(i).status is DocStatus.INDEXED and r.get_document(i).collection == "notes"
                   for i in res.ids)
    finally:
        r.close()


def test_cli_ingest_reports_rejections_and_exits_1(tmp_path: Path) -> None:
    files = make_folder(tmp_path / "docs", 3)
    env = {**os.environ, "RAGD_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-m", "ragd.cli.main", "ingest", str(tmp_path / "docs")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    err = " ".join(out.stderr.split())  # the console wraps long lines
    assert f"{len(files)} files: 4 indexed" in err
    assert "tool.bin: rejected: an ELF executable is not a supported document type" in err


def test_a_folder_loaded_by_the_operator_is_shared_as_an_upload_would_be(tmp_path: Path) -> None:
    """`ragd ingest` creates the collection as the API does on a first upload: the default collection is open to
    the tenant (a user finds its documents), a new named one is private to the operator (admins only)."""
    from ragd.auth.actor import Actor

    shared, private = tmp_path / "shared", tmp_path / "private"
    for folder, word in ((shared, "lighthouse"), (private, "submarine")):
        folder.mkdir()
        (folder / f"{word}.txt").write_text(f"The {word} keeper writes the log every night.\n")
    r = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))
    try:
        bulk.ingest_files(r, [shared / "lighthouse.txt"])
        bulk.ingest_files(r, [private / "submarine.txt"], collection="secret")
        user = r.auth.create_user("reader@example.org", "a long enough password 1", "user")
        reader = Actor(user_id=user.id, email=user.email, role="user", tenant_id=user.tenant_id)
        found = {h.chunk.text.split()[1] for q in ("lighthouse keeper", "submarine keeper")
                 for h in r.query(q, filters=r.access.filters(reader), answer=False).retrieval.hits}
        assert found == {"lighthouse"}
        coll = r.identities.get_collection("default", "default")
        assert coll is not None and coll.tenant_access == "write" and coll.tenant_owned  # the tenant's, as by upload
        secret = r.identities.get_collection("default", "secret")
        assert secret is not None and secret.tenant_access is None
    finally:
        r.close()
