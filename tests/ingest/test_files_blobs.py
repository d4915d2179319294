"""FileStore over both places an original can live: files under DATA_DIR/files (SQLite) and the database's
``blobs`` table (PostgreSQL, real server), encrypted and not. The same calls behave the same; in the database the
stored bytes are what the file would hold (sealed by the cipher), never the plaintext when a key is set."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragd.errors import EncryptionKeyMissing
from ragd.ingest.files import FileStore
from ragd.security.encryption import HEADER_LEN, FileCipher, describe, key_id
from ragd.store.backend import Backend, open_backend
from ragd.store.blobs import BlobStore
from ragd.store.postgres.connection import Database

KEY_A, KEY_B = os.urandom(32), os.urandom(32)
ORIGINAL = b"The Zephyr telemetry report: revenue grew in March. " * 40

MakeStore = Callable[[FileCipher | None], FileStore]


@pytest.fixture
def backend(pg_url: str) -> Iterator[Backend]:
    b = open_backend(pg_url)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(params=["disk", "database"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(mode: str, tmp_path: Path, request: pytest.FixtureRequest) -> MakeStore:
    """FileStores over one place (a directory, or one PostgreSQL schema), each with the cipher asked for."""
    blobs: BlobStore | None = None
    if mode == "database":
        blobs = request.getfixturevalue("backend").blobs
        assert blobs is not None
    return lambda cipher: FileStore(tmp_path / "files", cipher, blobs)


def raw(store: FileStore, key: str) -> bytes | None:
    """The bytes as stored: the file's, or the database row's (read with SQL, not through the port)."""
    if store.blobs is None:
        path = store.root / key[-2:] / key
        return path.read_bytes() if path.exists() else None
    db = Database(store.blobs.url)  # type: ignore[attr-defined]
    try:
        row = db.conn().execute("SELECT data, size FROM blobs WHERE key = %s", (key,)).fetchone()
    finally:
        db.close()
    if row is None:
        return None
    assert row[1] == len(row[0])
    return bytes(row[0])


@pytest.mark.parametrize("cipher_key", [None, KEY_A], ids=["plain", "encrypted"])
def test_put_get_iterate_delete(make: MakeStore, cipher_key: bytes | None) -> None:
    store = make(FileCipher(cipher_key))
    items = [(f"d_{i:04d}", os.urandom(50 + i)) for i in range(30)] + [("d_text", ORIGINAL)]
    store.put_many(items)
    for key, data in items:
        assert store.get(key) == data
    assert sorted(store.iter_keys()) == sorted(k for k, _ in items)
    stored = raw(store, "d_text")
    assert stored is not None
    fmt = store.state("d_text")
    assert fmt is not None and fmt.key_id == (key_id(cipher_key) if cipher_key else None)
    if cipher_key:
        assert b"Zephyr" not in stored and describe(stored[:HEADER_LEN]).key_id == key_id(KEY_A)
    else:
        assert stored == ORIGINAL
    store.delete("d_text")
    store.delete("d_never_stored")  # not an error
    assert store.get("d_text") is None and store.state("d_text") is None and raw(store, "d_text") is None
    assert "d_text" not in set(store.iter_keys())
    store.put_many([])


def test_put_keeps_an_original_already_stored(make: MakeStore) -> None:
    store = make(FileCipher(KEY_A))
    store.put("d_keep", b"first")
    store.put_many([("d_keep", b"second"), ("d_new", b"new")])
    assert store.get("d_keep") == b"first" and store.get("d_new") == b"new"


def test_iter_stored_tells_when_each_original_was_written(make: MakeStore) -> None:
    before = time.time()
    store = make(None)
    store.put_many([("d_a", b"a"), ("d_b", b"b")])
    stored = dict(store.iter_stored())
    assert set(stored) == {"d_a", "d_b"}
    assert all(before - 2 <= t <= time.time() + 2 for t in stored.values())
    assert store.remove_stale_temp(older_than_s=0) == 0


def test_keys_are_checked_before_anything_is_stored(make: MakeStore) -> None:
    store = make(None)
    with pytest.raises(ValueError):
        store.put_many([("d_ok", b"x"), ("../escape", b"x")])
    assert list(store.iter_keys()) == []
    with pytest.raises(ValueError):
        store.get("../escape")


def test_reencrypt_rotates_plain_and_old_key_originals(make: MakeStore) -> None:
    make(None).put("d_plain", b"plain legacy original")
    make(FileCipher(KEY_A)).put("d_under_a", ORIGINAL)
    rotated = make(FileCipher(KEY_B, [KEY_A]))
    assert rotated.reencrypt("d_plain") == "rotated"
    assert rotated.reencrypt("d_under_a") == "rotated"
    assert rotated.reencrypt("d_under_a") == "current"  # resumable: nothing written twice
    assert rotated.reencrypt("d_gone") == "gone"
    for key in ("d_plain", "d_under_a"):
        stored = raw(rotated, key)
        assert stored is not None and describe(stored[:HEADER_LEN]).key_id == key_id(KEY_B)
    assert b"Zephyr" not in (raw(rotated, "d_under_a") or b"") and b"legacy" not in (raw(rotated, "d_plain") or b"")
    only_b = make(FileCipher(KEY_B))  # the old key retired: everything still opens
    assert only_b.get("d_plain") == b"plain legacy original" and only_b.get("d_under_a") == ORIGINAL
    with pytest.raises(EncryptionKeyMissing):
        make(None).reencrypt("d_plain")
    with pytest.raises(EncryptionKeyMissing):
        make(FileCipher(KEY_A)).get("d_plain")  # under B now, which this one lacks


def test_database_writes_join_the_callers_unit_of_work(backend: Backend, tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files", FileCipher(KEY_A), backend.blobs)
    with pytest.raises(RuntimeError), backend.unit_of_work():
        store.put_many([("d_a", b"a"), ("d_b", b"b")])
        assert store.get("d_a") == b"a"  # the same transaction sees its own writes
        raise RuntimeError("the documents could not be recorded")
    assert list(store.iter_keys()) == []
    with backend.unit_of_work():
        store.put_many([("d_a", b"a")])
    assert store.get("d_a") == b"a"
    assert not (tmp_path / "files").exists()  # nothing written to disk in database mode


def test_blob_port_replaces_adds_and_updates(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    from ragd.store.postgres import blobs as module

    monkeypatch.setattr(module, "PAGE", 2)  # iteration crosses pages
    blobs = backend.blobs
    assert blobs is not None
    blobs.put_many([("k1", b"one"), ("k2", b"two")])
    blobs.put_many([("k1", b"uno")])  # put_many replaces
    blobs.add_many([("k2", b"dos"), ("k3", b"three")])  # add_many keeps what is there
    assert (blobs.get("k1"), blobs.get("k2"), blobs.get("k3")) == (b"uno", b"two", b"three")
    assert blobs.update("k3", b"tres") and blobs.get("k3") == b"tres"
    assert not blobs.update("k4", b"none") and blobs.get("k4") is None
    assert blobs.head("k3", 2) == b"tr" and blobs.head("k4", 2) is None
    assert [(e.key, e.size) for e in blobs.iter_entries()] == [("k1", 3), ("k2", 3), ("k3", 4)]


def test_crypto_status_and_rotate_commands_work_on_the_database(backend: Backend, pg_url: str,
                                                                tmp_path: Path) -> None:
    """``ragd crypto status|rotate`` with RAGD_STORE__URL=postgresql://… count and rotate the rows (a process of
    its own, as an operator runs it beside the server)."""
    import base64
    import json
    import subprocess
    import sys

    blobs = backend.blobs
    FileStore(tmp_path / "files", FileCipher(KEY_A), blobs).put("d_under_a", ORIGINAL)
    FileStore(tmp_path / "files", None, blobs).put("d_plain", b"plain legacy original")
    b64 = lambda k: base64.b64encode(k).decode()  # noqa: E731
    env = {**os.environ, "RAGD_DATA_DIR": str(tmp_path / "data"), "RAGD_STORE__URL": pg_url,
           "RAGD_ENCRYPTION__KEY": b64(KEY_B), "RAGD_ENCRYPTION__PREVIOUS_KEYS": json.dumps([b64(KEY_A)])}

    def ragd(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ragd.cli.main", *args], capture_output=True, text=True,
                              timeout=300, env=env)

    status = ragd("crypto", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["key_ids"] == {key_id(KEY_A): {"files": 1, "role": "previous"}}
    assert json.loads(status.stdout)["plain"] == 1
    run = ragd("crypto", "rotate", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"files": 2, "rotated": 2, "current": 0, "gone": 0, "failed": []}
    after = FileStore(tmp_path / "files", FileCipher(KEY_B), blobs)
    assert after.get("d_under_a") == ORIGINAL and after.get("d_plain") == b"plain legacy original"
    for key in ("d_under_a", "d_plain"):
        stored = raw(after, key)
        assert stored is not None and describe(stored[:HEADER_LEN]).key_id == key_id(KEY_B)
    assert not list((tmp_path / "data").glob("files/*/*"))  # nothing written to disk
