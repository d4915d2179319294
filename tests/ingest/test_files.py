"""FileStore: several originals written with one round of fsyncs, atomically, encrypted when a key is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragd.ingest.files import TEMP_PREFIX, FileStore
from ragd.security.encryption import FileCipher


def test_put_many_writes_every_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    items = [(f"d_{i:04d}", os.urandom(100 + i)) for i in range(40)]
    files.put_many(items)
    for key, data in items:
        assert files.get(key) == data
    assert not [p for p in (tmp_path / "files").rglob("*") if p.name.startswith(TEMP_PREFIX)]
    assert sorted(files.iter_keys()) == sorted(k for k, _ in items)


def test_put_many_keeps_existing_files(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    files.put("d_keep", b"first")
    files.put_many([("d_keep", b"second"), ("d_new", b"new")])
    assert files.get("d_keep") == b"first" and files.get("d_new") == b"new"
    files.put_many([])


def test_put_many_encrypts(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files", FileCipher(os.urandom(32)))
    files.put_many([("d_secret", b"plain words here")])
    raw = next(p for p in (tmp_path / "files").rglob("d_secret")).read_bytes()
    assert b"plain words" not in raw and files.get("d_secret") == b"plain words here"


def test_a_failed_batch_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = FileStore(tmp_path / "files")

    def broken(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        files.put_many([("d_a", b"a"), ("d_b", b"b")])
    monkeypatch.undo()
    assert list(files.iter_keys()) == []
    assert not [p for p in (tmp_path / "files").rglob("*") if p.is_file()]


def test_keys_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        FileStore(tmp_path).put_many([("../escape", b"x")])
