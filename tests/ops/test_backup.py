"""Backup and restore: archives, checksums, refusals; a backup taken under load restores identically."""

from __future__ import annotations

import io
import json
import tarfile
import threading
from pathlib import Path

import httpx
import pytest
from tests.ops.conftest import QUERIES, corpus, settings_for
from tests.support import wait_progressing

from ragd.errors import BadRequest, Conflict
from ragd.ops.backup import create_backup, restore_backup, verify_backup
from ragd.ops.doctor import run_doctor

pytestmark = pytest.mark.sqlite_only  # backup and restore of the data directory with its SQLite file


@pytest.mark.parametrize("suffix", ["tar.gz", "zip"])
def test_roundtrip_and_manifest(built_data: Path, tmp_path: Path, suffix: str) -> None:
    archive = tmp_path / f"b.{suffix}"
    res = create_backup(settings_for(built_data), archive)
    assert res.documents == 10 and res.files == 10 and res.chunks > 0 and not res.missing_files
    manifest = verify_backup(archive)
    assert manifest["store"]["embedding_model"] == "all-MiniLM-L6-v2" and manifest["store"]["embedding_dim"] == 384
    assert "ragd.sqlite3" in manifest["members"] and "index.json" in manifest["members"]
    assert all(len(m["sha256"]) == 64 for m in manifest["members"].values())

    target = tmp_path / "restored"
    out = restore_backup(archive, target)
    assert out["vectors"] == res.chunks
    assert run_doctor(settings_for(target))["differences"] == 0


def test_restore_refuses_non_empty_directory_and_damaged_archive(built_data: Path, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar.gz"
    create_backup(settings_for(built_data), archive)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    with pytest.raises(Conflict):
        restore_backup(archive, busy)

    # rewrite the archive with one original file altered but the manifest unchanged
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()  # type: ignore[union-attr]
            if m.name.startswith("files/"):
                data = data + b"tampered"
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data))
    with pytest.raises(BadRequest, match="checksum mismatch"):
        restore_backup(damaged, tmp_path / "fresh")
    assert not any((tmp_path / "fresh").iterdir())  # nothing landed
    with pytest.raises(BadRequest):
        restore_backup(tmp_path / "b.rar", tmp_path / "fresh2")


def _answers(client: httpx.Client) -> list[dict]:
    out = []
    for q in QUERIES:
        r = client.post("/api/v1/query", json={"query": q, "top_k": 5})
        assert r.status_code == 200, r.text
        body = r.json()
        out.append({"answer": body["answer"], "found": body["found"],
                    "results": [(h["chunk_id"], h["document_id"], round(h["score"], 9)) for h in body["results"]]})
    return out


@pytest.mark.timeout(3600)  # a busy machine is slow: waits fail on a stall, not on slowness
def test_backup_under_concurrent_uploads_restores_identically(server_factory, tmp_path: Path, cli) -> None:
    env = {"RAGD_HEALTH__MAX_MEMORY_PERCENT": "100"}
    src = server_factory(tmp_path / "src", **env).start()
    with src.client() as client:
        first = [client.post("/api/v1/documents/upload", files=[("file", d)]).json()["documents"][0]["id"]
                 for d in corpus(8)]
        wait_progressing(src, client, first)

        # uploads keep arriving while the backups run; the last ones wait until the backups are written, so some
        # uploads always come after the snapshot, on a slow machine as on a fast one
        later: list[str] = []
        started, backed_up = threading.Event(), threading.Event()
        held_back = 5

        def upload_more() -> None:
            with src.client() as c:
                for n, d in enumerate(corpus(25, start=8)):
                    if n == 25 - held_back:
                        backed_up.wait(600)
                    later.append(c.post("/api/v1/documents/upload", files=[("file", d)]).json()["documents"][0]["id"])
                    if len(later) == 3:
                        started.set()

        uploader = threading.Thread(target=upload_more)
        uploader.start()
        assert started.wait(600)
        archive = tmp_path / "under-load.tar.gz"
        res = cli("backup", str(archive), "--data-dir", str(src.data_dir))  # another process, server busy
        assert res.returncode == 0, res.stderr
        api = client.post("/api/v1/admin/backup")
        assert api.status_code == 201, api.text
        name = api.json()["file"]
        assert (src.data_dir / "backups" / name).is_file()
        assert name in [b["file"] for b in client.get("/api/v1/admin/backups").json()["backups"]]
        assert client.post(f"/api/v1/admin/backups/{name}/verify").json()["ok"]
        backed_up.set()
        uploader.join(600)
        wait_progressing(src, client, first + later)

        restored_dir = tmp_path / "restored"
        res = cli("restore", str(archive), "--data-dir", str(restored_dir))
        assert res.returncode == 0, res.stderr
        with tarfile.open(archive) as tar:
            manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        in_backup = manifest["store"]["documents"]
        assert len(later) == 25
        assert 8 + 3 <= in_backup <= 8 + 25 - held_back, in_backup  # uploads were still arriving

        dst = server_factory(restored_dir, **env).start()
        with dst.client() as rc:
            kept = [d["id"] for d in rc.get("/api/v1/documents", params={"limit": 500}).json()["documents"]]
            assert len(kept) == in_backup and set(first) <= set(kept)
            rc_docs = wait_progressing(dst, rc, kept)  # documents still pending in the snapshot are finished now
            assert all(d["status"] == "indexed" for d in rc_docs.values())
            # the source, minus what arrived after the snapshot, must answer exactly like the restored copy
            for doc_id in set(first + later) - set(kept):
                assert client.delete(f"/api/v1/documents/{doc_id}").status_code == 204
            assert _answers(client) == _answers(rc)
        dst.stop()
        doctor = cli("doctor", "--json", "--data-dir", str(restored_dir))
        assert doctor.returncode == 0, doctor.stdout
        assert json.loads(doctor.stdout)["differences"] == 0
