"""Backup and restore of a PostgreSQL store (real server, pg_dump/pg_restore): rows and originals written through
the backend's ports are backed up, restored into another database, and read back the same; the originals stay
sealed; a non-empty or wrong target is refused with the password masked."""

from __future__ import annotations

import io
import os
import tarfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from tests import pg

from ragd.config import Settings
from ragd.errors import BadRequest, ConfigurationError, Conflict
from ragd.ingest.files import FileStore
from ragd.ops.backup import create_backup, restore_backup, verify_backup
from ragd.security.encryption import FileCipher, key_id
from ragd.store.backend import open_backend
from ragd.store.postgres.connection import Database

KEY = os.urandom(32)
REPORT = b"Quarterly report of the Zephyr project: revenue grew in March. " * 30


@contextmanager
def fresh_database(options: str = "") -> Iterator[str]:
    """A new, empty database (no pgvector yet) on the test server, dropped afterwards; its URL."""
    name = f"ragd_bk_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg.ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{pg.SERVER}/{name}{options}"
    finally:
        with psycopg.connect(pg.ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def settings(data_dir: Path, url: str) -> Settings:
    return Settings(data_dir=data_dir, store={"url": url}, ingest={"workers": 0})


def populate(url: str, root: Path) -> None:
    """Two documents (one with a sealed original, one without), an orphan original, a meta value and a job
    that was running when the backup is taken, all through the backend (the originals through its blob port)."""
    backend = open_backend(url)
    db = Database(url)
    try:
        files = FileStore(root, FileCipher(KEY), backend.blobs)
        files.put_many([("d_report", REPORT), ("d_orphan", b"no document points here")])
        now = time.time()
        with backend.unit_of_work():
            for doc_id in ("d_report", "d_nofile"):
                db.conn().execute(
                    "INSERT INTO documents (id, collection, filename, content_hash, mime, size, status, created_at, "
                    "updated_at) VALUES (%s, 'default', %s, %s, 'text/plain', 10, 'pending', %s, %s)",
                    (doc_id, f"{doc_id}.txt", doc_id, now, now))
            db.conn().execute("INSERT INTO jobs (document_id, kind, status, worker_id, locked_until, created_at, "
                              "updated_at) VALUES ('d_report', 'ingest', 'running', 'w1', %s, %s, %s)",
                              (now + 60, now, now))
            db.conn().execute("INSERT INTO meta (key, value) VALUES ('backup_probe', 'kept')")
    finally:
        db.close()
        backend.close()


def check_restored(url: str, root: Path) -> None:
    backend = open_backend(url)  # migrations: nothing to do, the restored schema is current
    db = Database(url)
    try:
        assert backend.migrate() == 0
        files = FileStore(root, FileCipher(KEY), backend.blobs)
        assert files.get("d_report") == REPORT and sorted(files.iter_keys()) == ["d_orphan", "d_report"]
        stored = db.conn().execute("SELECT data FROM blobs WHERE key = 'd_report'").fetchone()[0]
        assert b"Zephyr" not in bytes(stored)  # still sealed in the restored database
        assert FileStore(root, FileCipher(), backend.blobs).state("d_report").key_id == key_id(KEY)  # type: ignore[union-attr]
        meta = db.conn().execute("SELECT value FROM meta WHERE key = 'backup_probe'").fetchone()
        assert meta is not None and meta[0] == "kept"
        job = db.conn().execute("SELECT status, worker_id, locked_until FROM jobs").fetchone()
        assert tuple(job) == ("queued", None, None)  # no process of the restored store holds it
        assert db.conn().execute("SELECT count(*) FROM documents").fetchone()[0] == 2
    finally:
        db.close()
        backend.close()


def test_whole_database_backup_restores_into_an_empty_database(tmp_path: Path, pg_database: str) -> None:
    with fresh_database() as src, fresh_database() as dst:
        populate(src, tmp_path / "files")
        archive = tmp_path / "backups" / "pg.tar.gz"
        res = create_backup(settings(tmp_path / "data", src), archive)
        assert (res.documents, res.files, res.missing_files) == (2, 2, ["d_nofile"])
        assert oct(archive.stat().st_mode & 0o777) == "0o600"
        manifest = verify_backup(archive)
        store = manifest["store"]
        assert (store["engine"], store["schema"], store["originals"]) == ("postgresql", "public", 2)
        assert manifest["encryption"] == {"plain": 0, "key_ids": {key_id(KEY): 2}}
        assert set(manifest["members"]) == {"ragd.pgdump"}
        with tarfile.open(archive) as tar:
            assert not [n for n in tar.getnames() if "pgpass" in n or n.startswith("files/")]

        with pytest.raises(BadRequest, match="RAGD_STORE__URL"):
            restore_backup(archive, tmp_path / "restored")  # no target database given
        out = restore_backup(archive, tmp_path / "restored", dst)
        assert out["vectors"] == 0 and out["store"]["documents"] == 2
        check_restored(dst, tmp_path / "files")

        with pytest.raises(Conflict) as busy:  # the target now holds ragd's tables
            restore_backup(archive, tmp_path / "again", dst)
        assert "ragd:***@" in busy.value.detail and "ragd:ragd@" not in busy.value.detail


def test_schema_of_the_url_is_backed_up_alone_and_restored_under_its_name(tmp_path: Path, pg_url: str) -> None:
    """The tests' URLs put ragd's tables in a schema of their own (search_path): only that schema is dumped, and
    it is restored under the same name in another database, reached by a URL with the same search_path."""
    schema = pg_url.split("search_path%3D", 1)[1].split("%2C", 1)[0]
    populate(pg_url, tmp_path / "files")
    archive = tmp_path / "pg.zip"
    create_backup(settings(tmp_path / "data", pg_url), archive)
    manifest = verify_backup(archive)
    assert manifest["store"]["schema"] == schema
    options = f"?options=-csearch_path%3D{schema}%2Cpublic"
    with fresh_database(options) as dst:
        plain = dst.split("?", 1)[0]
        with pytest.raises(ConfigurationError, match="search_path"):  # this URL resolves to "public"
            restore_backup(archive, tmp_path / "r", plain)
        with psycopg.connect(plain) as conn:  # the refused restore left nothing behind
            assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() == (0,)
        restore_backup(archive, tmp_path / "r", dst)
        check_restored(dst, tmp_path / "files")
        with psycopg.connect(plain) as conn:  # only ragd's schema came over, nothing of the other tests'
            names = {r[0] for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' "
                "AND nspname NOT IN ('information_schema', 'public')")}
            assert names == {schema}


def test_a_damaged_dump_is_refused_before_anything_is_restored(tmp_path: Path, pg_url: str) -> None:
    populate(pg_url, tmp_path / "files")
    archive = tmp_path / "pg.tar.gz"
    create_backup(settings(tmp_path / "data", pg_url), archive)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()  # type: ignore[union-attr]
            if m.name == "ragd.pgdump":
                data = data[:-100] + b"x" * 100
            dst.addfile(m, io.BytesIO(data))
    with fresh_database(pg_url[pg_url.index("?"):]) as dst_url, pytest.raises(BadRequest, match="checksum"):
        restore_backup(damaged, tmp_path / "r", dst_url)
