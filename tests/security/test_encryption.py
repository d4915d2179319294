"""Encryption at rest of stored originals: the cipher, the file store, key settings, and `ragd crypto rotate`
end to end (plain data directory → key set → rotate → rotate again to a second key → served over HTTP)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.backend import postgresql, stored_originals, write_original
from tests.support import FIXTURES, Server

from ragd.config import Settings
from ragd.errors import Conflict, DecryptionFailed, EncryptionKeyMissing
from ragd.ingest.files import FileStore
from ragd.security.encryption import HEADER_LEN, MAGIC, FileCipher, describe, generate_key, key_id

KEY_A, KEY_B, KEY_C = (os.urandom(32) for _ in range(3))
DOC = "d_0123456789abcdef0123"
OTHER = "d_fedcba9876543210fedc"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


# -- the cipher --------------------------------------------------------------------------------------------------
def test_round_trip_random_nonce_and_no_plaintext_on_disk() -> None:
    cipher = FileCipher(KEY_A)
    data = b"The quarterly report says revenue grew. " * 50
    one, two = cipher.seal(data, DOC), cipher.seal(data, DOC)
    assert one.startswith(MAGIC) and one != two  # a fresh nonce per file
    assert b"quarterly" not in one and len(one) == len(data) + HEADER_LEN + 16
    assert describe(one[:HEADER_LEN]).key_id == key_id(KEY_A) == cipher.key_id
    assert cipher.open(one, DOC) == data and cipher.open(two, DOC) == data
    assert cipher.open(cipher.seal(b"", DOC), DOC) == b""


@pytest.mark.parametrize(
    "position", [HEADER_LEN, HEADER_LEN + 5, -1, -16, HEADER_LEN - 1, HEADER_LEN - 12]
)  # ciphertext, tag, nonce
def test_tampering_fails_authentication(position: int) -> None:
    cipher = FileCipher(KEY_A)
    blob = bytearray(cipher.seal(b"secret contract text " * 10, DOC))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionFailed) as err:
        cipher.open(bytes(blob), DOC)
    assert err.value.code == "decryption_failed" and DOC in err.value.detail


def test_truncated_or_unknown_version_fails() -> None:
    cipher = FileCipher(KEY_A)
    blob = cipher.seal(b"some text", DOC)
    for bad in (blob[:HEADER_LEN + 3], blob[:12], MAGIC + b"\x07" + blob[len(MAGIC) + 1 :]):
        with pytest.raises(DecryptionFailed):
            cipher.open(bad, DOC)


def test_file_moved_to_another_document_fails() -> None:
    cipher = FileCipher(KEY_A)
    with pytest.raises(DecryptionFailed):
        cipher.open(cipher.seal(b"belongs to DOC", DOC), OTHER)


def test_wrong_or_missing_key_names_the_key_id_never_a_key() -> None:
    blob = FileCipher(KEY_A).seal(b"text", DOC)
    for cipher in (FileCipher(KEY_B), FileCipher(), FileCipher(None, [KEY_C])):
        with pytest.raises(EncryptionKeyMissing) as err:
            cipher.open(blob, DOC)
        assert err.value.status == 503 and err.value.code == "encryption_key_missing"
        assert key_id(KEY_A) in err.value.detail
        for k in (KEY_A, KEY_B, KEY_C):
            assert b64(k) not in err.value.detail and k.hex() not in err.value.detail
    assert b64(KEY_A) not in repr(FileCipher(KEY_A, [KEY_B]))


def test_previous_key_reads_and_current_key_writes() -> None:
    old = FileCipher(KEY_A).seal(b"written under A", DOC)
    rotated = FileCipher(KEY_B, [KEY_A])
    assert rotated.open(old, DOC) == b"written under A"
    assert describe(rotated.seal(b"x", DOC)[:HEADER_LEN]).key_id == key_id(KEY_B)


def test_plain_files_stay_readable_and_magic_prefixed_content_is_enveloped() -> None:
    assert FileCipher(KEY_A).open(b"%PDF-1.7 legacy plain file", DOC) == b"%PDF-1.7 legacy plain file"
    tricky = MAGIC + b"\x01" + os.urandom(40)  # looks like ciphertext but is an upload, stored with encryption off
    stored = FileCipher().seal(tricky, DOC)
    assert stored != tricky and describe(stored[:HEADER_LEN]).kind == "plain"
    assert FileCipher().open(stored, DOC) == tricky and FileCipher(KEY_A).open(stored, DOC) == tricky
    assert FileCipher().seal(b"ordinary", DOC) == b"ordinary"  # encryption off: stored as uploaded


# -- the file store --------------------------------------------------------------------------------------------
def test_file_store_encrypts_reads_legacy_and_reencrypts(tmp_path: Path) -> None:
    root = tmp_path / "files"
    FileStore(root).put(OTHER, b"plain legacy original")
    store = FileStore(root, FileCipher(KEY_A))
    path = store.put(DOC, b"confidential original")
    assert b"confidential" not in path.read_bytes() and path.parent.parent == root
    assert store.get(DOC) == b"confidential original" and store.get(OTHER) == b"plain legacy original"
    assert store.get("d_missing000000000000") is None
    assert sorted(store.iter_keys()) == sorted([DOC, OTHER])
    assert store.state(OTHER).kind == "plain" and store.state(DOC).key_id == key_id(KEY_A)
    rotated = FileStore(root, FileCipher(KEY_B, [KEY_A]))
    assert {k: rotated.reencrypt(k) for k in (DOC, OTHER)} == {DOC: "rotated", OTHER: "rotated"}
    assert {k: rotated.reencrypt(k) for k in (DOC, OTHER)} == {DOC: "current", OTHER: "current"}  # resumable
    assert rotated.get(OTHER) == b"plain legacy original" and rotated.state(OTHER).key_id == key_id(KEY_B)
    assert not [p for p in root.rglob("*") if p.name.startswith(".tmp-")]
    with pytest.raises(EncryptionKeyMissing):
        FileStore(root).reencrypt(DOC)
    with pytest.raises(ValueError):
        store.put("../../escape", b"x")


def test_rotation_is_exclusive_reports_unreadable_files_and_cleans_crashed_writes(tmp_path: Path) -> None:
    from ragd.cli.crypto import rotate, rotation_lock

    root = tmp_path / "files"
    FileStore(root, FileCipher(KEY_A)).put(DOC, b"under A")
    FileStore(root).put(OTHER, b"plain")
    stale, fresh = root / DOC[-2:] / ".tmp-crashed", root / DOC[-2:] / ".tmp-in-flight"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    os.utime(stale, (0, 0))
    store = FileStore(root, FileCipher(KEY_B))  # key A forgotten
    assert store.remove_stale_temp() == 1 and fresh.exists() and not stale.exists()
    with rotation_lock(root), pytest.raises(Conflict), rotation_lock(root):
        pass
    report = rotate(store, list(store.iter_keys()))
    assert (report.files, report.rotated, len(report.failed)) == (2, 1, 1)
    assert DOC in report.failed[0] and key_id(KEY_A) in report.failed[0] and b64(KEY_B) not in report.failed[0]
    with pytest.raises(EncryptionKeyMissing):
        rotate(FileStore(root), [])


# -- settings ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    ["changeme", "CHANGEME", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", b64(b"changeme" * 4), b64(os.urandom(16)),
     "not base64 at all!!", b64(os.urandom(31)) + "xx"],
)
def test_bad_keys_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings(encryption={"key": bad})
    assert bad not in str(err.value) and "encryption.key" in str(err.value)
    with pytest.raises(ValidationError) as err:
        Settings(encryption={"previous_keys": [b64(KEY_A), bad]})
    assert bad not in str(err.value) and b64(KEY_A) not in str(err.value)


def test_generated_keys_validate_and_settings_never_show_them() -> None:
    key, prev = generate_key(), generate_key()
    assert len(base64.b64decode(key)) == 32 and key != prev
    s = Settings(encryption={"key": key, "previous_keys": [prev]})
    assert FileCipher.from_settings(s.encryption).key_id == key_id(base64.b64decode(key))
    assert key not in repr(s) and prev not in str(s) and key not in s.model_dump_json()
    assert Settings(encryption={"key": ""}).encryption.key is None
    urlsafe = base64.urlsafe_b64encode(KEY_A).decode()
    assert FileCipher.from_settings(Settings(encryption={"key": urlsafe}).encryption).key_id == key_id(KEY_A)


# -- end to end --------------------------------------------------------------------------------------------------
def ragd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ragd.cli.main", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def stored(data_dir: Path) -> dict[str, bytes]:
    return stored_originals(data_dir)


@pytest.mark.timeout(900)
def test_rotate_end_to_end(tmp_path: Path, server_factory: Callable[..., Server]) -> None:
    data = tmp_path / "data"
    base = {"RAGD_DATA_DIR": str(data), "RAGD_AUTH__ENABLED": "false", "RAGD_INGEST__WORKERS": "1"}
    originals = {
        "notes.txt": b"The Zephyr project ships its telemetry module in March.\n\nBudget owner: Ana.\n",
        "multi_page.pdf": (FIXTURES / "pdf" / "multi_page.pdf").read_bytes(),
        "word_sample.docx": (FIXTURES / "docx" / "word_sample.docx").read_bytes(),
    }
    # 1. documents ingested with encryption off: stored as uploaded
    server = server_factory(data, RAGD_AUTH__ENABLED="false").start()
    with server.client() as c:
        ids = {name: c.post("/api/v1/documents/upload", files={"file": (name, raw)}).json()["documents"][0]["id"]
               for name, raw in originals.items()}
        assert all(d["status"] == "indexed" for d in server.wait_done(c, list(ids.values())).values())
    server.stop()
    by_id = {ids[n]: raw for n, raw in originals.items()}
    assert stored(data) == by_id

    key1, key2 = generate_key(), generate_key()
    kid1, kid2 = (key_id(base64.b64decode(k)) for k in (key1, key2))
    # 2. a key is set: status sees plain files; rotate encrypts every one; a second run has nothing to do
    env1 = {**base, "RAGD_ENCRYPTION__KEY": key1}
    status = json.loads(ragd("crypto", "status", "--json", env=env1).stdout)
    assert status["plain"] == 3 and status["key_ids"] == {} and status["current_key_id"] == kid1
    run = ragd("crypto", "rotate", "--json", env=env1)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"files": 3, "rotated": 3, "current": 0, "gone": 0, "failed": []}
    assert "3 re-encrypted" in run.stderr
    assert all(describe(b[:HEADER_LEN]).key_id == kid1 for b in stored(data).values())
    again = json.loads(ragd("crypto", "rotate", "--json", env=env1).stdout)
    assert again["rotated"] == 0 and again["current"] == 3

    # 3. rotation to a second key, reading with the first as a previous key
    env2 = {**base, "RAGD_ENCRYPTION__KEY": key2, "RAGD_ENCRYPTION__PREVIOUS_KEYS": json.dumps([key1])}
    status = json.loads(ragd("crypto", "status", "--json", env=env2).stdout)
    assert status["key_ids"] == {kid1: {"files": 3, "role": "previous"}}
    run = ragd("crypto", "rotate", env=env2)
    assert run.returncode == 0 and "3 re-encrypted" in run.stderr, run.stderr
    after = stored(data)
    assert all(describe(b[:HEADER_LEN]).key_id == kid2 for b in after.values())
    assert not any(raw[:200] in blob for raw, blob in ((by_id[k], after[k]) for k in after))
    for out in (run.stdout + run.stderr, ragd("config", "show", env=env2).stdout):
        assert key1 not in out and key2 not in out

    # 4. without the old key the doctor still passes (everything is under key 2); a backup keeps files encrypted
    env_only2 = {**base, "RAGD_ENCRYPTION__KEY": key2}
    doctor = ragd("doctor", "--json", env=env_only2)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    files_check = next(c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "files")
    assert f"3 key {kid2}" in files_check["detail"]
    no_key = json.loads(ragd("doctor", "--json", env=base).stdout)
    assert next(c for c in no_key["checks"] if c["check"] == "files")["differences"] == 3
    archive = tmp_path / "b.tar.gz"
    assert ragd("backup", str(archive), env=env_only2).returncode == 0
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name.startswith("files/")}  # type: ignore[union-attr]
    assert manifest["encryption"] == {"plain": 0, "key_ids": {kid2: 3}}
    if not postgresql():  # on PostgreSQL the originals travel inside the database dump, still sealed
        assert sorted(members.values()) == sorted(after.values())

    # 5. served with key 2 only: downloads return the original bytes; new uploads are stored encrypted and indexed
    server = server_factory(data, RAGD_AUTH__ENABLED="false", RAGD_ENCRYPTION__KEY=key2).start()
    with server.client() as c:
        for doc_id, raw in by_id.items():
            r = c.get(f"/api/v1/documents/{doc_id}/file")
            assert r.status_code == 200 and r.content == raw
        new = c.post("/api/v1/documents/upload", files={"file": ("new.txt", b"Fresh upload about the Zephyr.")})
        new_id = new.json()["documents"][0]["id"]
        assert server.wait_done(c, [new_id])[new_id]["status"] == "indexed"
        assert describe(stored(data)[new_id][:HEADER_LEN]).key_id == kid2
        assert c.get(f"/api/v1/documents/{new_id}/file").content == b"Fresh upload about the Zephyr."

        # 6. a file under a key the server lacks → 503 with a stable code; a file moved between documents → 500
        #    decryption_failed; re-indexing such a document fails it alone, with the code
        txt, pdf, docx = ids["notes.txt"], ids["multi_page.pdf"], ids["word_sample.docx"]
        write_original(data, txt, FileCipher(os.urandom(32)).seal(originals["notes.txt"], txt))
        write_original(data, docx, stored(data)[pdf])
        r = c.get(f"/api/v1/documents/{txt}/file")
        assert r.status_code == 503 and r.json()["code"] == "encryption_key_missing", r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        r = c.get(f"/api/v1/documents/{docx}/file")
        assert r.status_code == 500 and r.json()["code"] == "decryption_failed", r.text
        assert c.post(f"/api/v1/documents/{txt}/reindex").status_code == 202
        done = server.wait_done(c, [txt])[txt]
        assert done["status"] == "failed" and done["error_code"] == "encryption_key_missing", done
        assert c.get("/api/v1/health").status_code == 200
    server.stop()
    log = b"".join(p.read_bytes() for p in tmp_path.glob("server-*.log")).decode(errors="replace")
    assert key1 not in log and key2 not in log
