"""Backup and restore of a ragd store, while the server keeps serving: a SQLite data directory, or a PostgreSQL
database (:mod:`ragd.ops.backup_pg`: ``pg_dump`` in custom format, the originals inside it).

An archive (``.tar.gz`` or ``.zip``) of a SQLite store holds:

* ``ragd.sqlite3`` — a consistent snapshot taken with SQLite's online backup API (readers and writers go
  on);
* ``files/<xx>/<document id>`` — the original of every document *in that snapshot* (files of documents
  uploaded after the snapshot are left out, so archive and database agree), copied as stored: files encrypted at
  rest stay encrypted, and the manifest's ``encryption`` entry counts plain files and files per key id (the
  keys a restore needs; docs/encryption.md);
* ``index.json`` — the dense index's saved metadata (model, dimension, count, watermark) for reference: the
  index itself is derived and is rebuilt from the restored store;
* ``manifest.json`` — written last: format, ragd version, store summary (schema version, model, counts) and
  the size and sha256 of every other member.

For a PostgreSQL store, ``ragd.pgdump`` (ragd's schema, the ``blobs`` table of originals included, still sealed)
takes the place of ``ragd.sqlite3`` and ``files/``; the manifest's store summary says ``"engine": "postgresql"``
and names the schema, and its ``encryption`` entry counts the originals per key id as for files. The keys
themselves are never in a backup (docs/encryption.md: keep them apart).

:func:`restore_backup` refuses a non-empty target, verifies every checksum and the database's integrity before
anything lands in the target, puts the jobs that were running at the snapshot back in the queue (no process of the
restored directory holds them), and then rebuilds the dense index so the restored directory is ready to serve.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from ragd import __version__
from ragd.config import Settings
from ragd.errors import BadRequest, Conflict, DecryptionFailed
from ragd.index.dense import DenseIndex
from ragd.ops import backup_pg
from ragd.security.encryption import HEADER_LEN, describe
from ragd.security.filemodes import open_private, private_dir, private_sqlite_file
from ragd.store.url import parse_url

FORMAT = 1
DB_NAME = "ragd.sqlite3"
_CHUNK = 1024 * 1024


@dataclass(slots=True)
class BackupResult:
    path: Path
    size: int
    documents: int
    chunks: int
    files: int
    missing_files: list[str]
    took_ms: float


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def store_file(settings: Settings) -> Path | None:
    """The SQLite file of ``settings``' store, ``None`` for PostgreSQL."""
    return parse_url(settings.store_url).path


def _snapshot(db: Path, dest: Path) -> dict[str, Any]:
    src = sqlite3.connect(db, timeout=30)  # only reads; WAL lets the server write meanwhile
    private_sqlite_file(dest)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)  # all pages in one step: one consistent read snapshot
    finally:
        src.close()
    try:
        dst.execute("PRAGMA journal_mode = DELETE")
        meta = dict(dst.execute("SELECT key, value FROM meta").fetchall())
        return {
            "schema_version": dst.execute("PRAGMA user_version").fetchone()[0],
            "embedding_model": meta.get("embedding_model"),
            "embedding_dim": int(meta["embedding_dim"]) if meta.get("embedding_dim") else None,
            "documents": dst.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
            "chunks": dst.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
            "last_change_id": dst.execute("SELECT COALESCE(MAX(change_id), 0) FROM changes").fetchone()[0],
            "document_ids": [r[0] for r in dst.execute("SELECT id FROM documents ORDER BY id")],
        }
    finally:
        dst.close()


def _archive_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "tar"
    if name.endswith(".zip"):
        return "zip"
    raise BadRequest(f"backup file name must end with .tar.gz, .tgz or .zip, not {path.name!r}")


def create_backup(settings: Settings, dest: Path) -> BackupResult:
    """Write one archive of ``settings``' data directory to ``dest`` (atomically: temp file, then rename)."""
    t0 = time.perf_counter()
    kind = _archive_kind(dest)
    db = store_file(settings)
    if db is not None and not db.exists():
        raise BadRequest(f"no ragd database at {db}")
    if not dest.parent.exists():
        private_dir(dest.parent)  # a directory made for backups is the owner's alone, as the archive (0600)
    with tempfile.TemporaryDirectory(prefix=".ragd-backup-", dir=dest.parent) as tmp_dir:
        tmp = Path(tmp_dir)
        members: list[tuple[str, Path]]
        if db is None:
            private_dir(tmp / "pg")
            summary = backup_pg.dump(settings.store_url, tmp / backup_pg.DUMP_NAME, tmp / "pg")
            members = [(backup_pg.DUMP_NAME, tmp / backup_pg.DUMP_NAME)]
            missing, encryption = summary.pop("_missing"), summary.pop("_encryption")
            originals = summary["originals"]
        else:
            summary = _snapshot(db, tmp / DB_NAME)
            members, missing, encryption = _originals(settings.data_dir / "files", summary.pop("document_ids"))
            members.insert(0, (DB_NAME, tmp / DB_NAME))
            originals = len(members) - 1
        index_meta = settings.data_dir / "index" / "dense.json"
        if index_meta.is_file():
            shutil.copyfile(index_meta, tmp / "index.json")
            members.append(("index.json", tmp / "index.json"))
        entries: dict[str, dict[str, Any]] = {}
        for name, path in members:
            entries[name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
        manifest = {
            "format": FORMAT, "ragd_version": __version__, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                       time.gmtime()),
            "store": summary, "missing_files": missing, "encryption": encryption, "members": entries,
        }
        part = tmp / f"{dest.name}.part"
        manifest_bytes = json.dumps(manifest, indent=2).encode()
        _write_archive(kind, part, members, manifest_bytes)
        os.replace(part, dest)
    return BackupResult(dest, dest.stat().st_size, summary["documents"], summary["chunks"], originals,
                        missing, round((time.perf_counter() - t0) * 1000, 1))


def _originals(files_root: Path, doc_ids: list[str]) -> tuple[list[tuple[str, Path]], list[str], dict[str, Any]]:
    """The archive members of the documents' original files, the documents without one, and the files' counts
    per key id."""
    members: list[tuple[str, Path]] = []
    missing: list[str] = []
    encryption: dict[str, Any] = {"plain": 0, "key_ids": {}}
    for doc_id in doc_ids:
        original = files_root / doc_id[-2:] / doc_id
        if original.is_file():
            members.append((f"files/{doc_id[-2:]}/{doc_id}", original))
            _count_format(original, encryption)
        else:
            missing.append(doc_id)
    return members, missing, encryption


def _count_format(path: Path, counts: dict[str, Any]) -> None:
    with open(path, "rb") as f:
        try:
            key_id = describe(f.read(HEADER_LEN)).key_id
        except DecryptionFailed:
            key_id = "unknown"
    if key_id is None:
        counts["plain"] += 1
    else:
        counts["key_ids"][key_id] = counts["key_ids"].get(key_id, 0) + 1


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode &= 0o700  # members are recorded as the owner's alone, whatever the source file's mode was
    return info


def _write_archive(kind: str, part: Path, members: list[tuple[str, Path]], manifest: bytes) -> None:
    """The archive holds every original: it is created 0600 (and its members recorded 0600) whatever the umask."""
    with os.fdopen(open_private(part, os.O_WRONLY | os.O_TRUNC), "wb") as raw:
        if kind == "tar":
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                for name, path in members:
                    tar.add(path, arcname=name, recursive=False, filter=_private)
                info = tarfile.TarInfo("manifest.json")
                info.size, info.mtime, info.mode = len(manifest), int(time.time()), 0o600
                tar.addfile(info, io.BytesIO(manifest))
        else:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, path in members:
                    info = zipfile.ZipInfo.from_file(path, name)
                    info.external_attr = (info.external_attr & ~(0o077 << 16)) & 0xFFFFFFFF
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with open(path, "rb") as src, zf.open(info, "w") as dst:
                        shutil.copyfileobj(src, dst, _CHUNK)
                zf.writestr("manifest.json", manifest)  # recorded 0600 by zipfile
        raw.flush()
        os.fsync(raw.fileno())


def _safe_name(name: str) -> str:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts or "\\" in name:
        raise BadRequest(f"unsafe path in backup archive: {name!r}")
    return str(p)


def _create(path: Path) -> BinaryIO:
    return os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "wb")


def _extract(archive: Path, into: Path) -> dict[str, Any]:
    kind = _archive_kind(archive)
    if kind == "tar":
        with tarfile.open(archive, "r:gz") as tar:
            for m in tar.getmembers():
                if not m.isfile():
                    raise BadRequest(f"unexpected entry in backup archive: {m.name!r}")
                target = into / _safe_name(m.name)
                private_dir(target.parent)
                src = tar.extractfile(m)
                assert src is not None
                with src, _create(target) as out:
                    shutil.copyfileobj(src, out, _CHUNK)
    else:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                target = into / _safe_name(info.filename)
                private_dir(target.parent)
                with zf.open(info) as src, _create(target) as out:
                    shutil.copyfileobj(src, out, _CHUNK)
    manifest_path = into / "manifest.json"
    if not manifest_path.is_file():
        raise BadRequest("not a ragd backup: manifest.json is missing")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise BadRequest(f"unsupported backup format {manifest.get('format')!r}")
    return manifest


def _peek_manifest(archive: Path) -> dict[str, Any]:
    """The manifest alone (unverified: only to tell which engine's restore applies)."""
    try:
        if _archive_kind(archive) == "tar":
            with tarfile.open(archive, "r:gz") as tar:
                member = tar.extractfile("manifest.json")
                raw = member.read() if member is not None else b""
        else:
            with zipfile.ZipFile(archive) as zf:
                raw = zf.read("manifest.json")
        manifest = json.loads(raw)
    except (KeyError, OSError, ValueError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise BadRequest(f"not a readable ragd backup: {archive.name}") from exc
    if not isinstance(manifest, dict):
        raise BadRequest(f"not a ragd backup: {archive.name}")
    return manifest


def verify_backup(archive: Path) -> dict[str, Any]:
    """Check every member against the manifest; returns the manifest. Raises ``BadRequest`` on a mismatch."""
    with tempfile.TemporaryDirectory(prefix=".ragd-verify-", dir=archive.parent) as tmp:
        return _verify(archive, Path(tmp))


def _verify(archive: Path, into: Path) -> dict[str, Any]:
    manifest = _extract(archive, into)
    members: dict[str, dict[str, Any]] = manifest["members"]
    present = {str(p.relative_to(into)) for p in into.rglob("*") if p.is_file()} - {"manifest.json"}
    if present != set(members):
        extra, lost = sorted(present - set(members)), sorted(set(members) - present)
        raise BadRequest(f"backup members differ from its manifest (extra {extra[:5]}, missing {lost[:5]})")
    for name, entry in members.items():
        if _sha256(into / name) != entry["sha256"]:
            raise BadRequest(f"checksum mismatch for {name!r}: the backup is damaged")
    if engine(manifest) == "postgresql":
        backup_pg.check_dump(into / backup_pg.DUMP_NAME)
        return manifest
    conn = sqlite3.connect(into / DB_NAME)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    if check != "ok":
        raise BadRequest(f"the database in the backup fails its integrity check: {check}")
    return manifest


def engine(manifest: dict[str, Any]) -> str:
    """``"sqlite"`` or ``"postgresql"``: the engine of the store a backup holds."""
    return str(manifest.get("store", {}).get("engine", "sqlite"))


def _reset_jobs(db: Path) -> None:
    """Jobs that were running when the backup was taken belong to no process of the restored directory: queue
    them again, and start the clock of every unfinished job at the restore (``ragd doctor`` would otherwise call
    them stuck)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute(
            "UPDATE jobs SET status = 'queued', worker_id = NULL, locked_until = NULL, updated_at = ? "
            "WHERE status IN ('queued', 'running')", (time.time(),),
        )
    finally:
        conn.close()


def restore_backup(archive: Path, data_dir: Path, store_url: str | None = None) -> dict[str, Any]:
    """Restore ``archive`` into the empty (or absent) ``data_dir`` and rebuild its dense index — or, for a backup
    of a PostgreSQL store, into the empty database ``store_url`` names (each replica rebuilds its own dense index
    from the database when it starts: ``vectors`` is 0 and ``data_dir`` is left alone).

    Returns the manifest plus ``vectors`` (the rebuilt index's size)."""
    if not archive.is_file():
        raise BadRequest(f"no backup file at {archive}")
    target_is_pg = store_url is not None and parse_url(store_url).path is None
    if engine(_peek_manifest(archive)) == "postgresql":
        if not target_is_pg:
            raise BadRequest("this backup holds a PostgreSQL store: set RAGD_STORE__URL to the empty database "
                             "to restore it into (docs/operations.md)")
        assert store_url is not None
        with tempfile.TemporaryDirectory(prefix=".ragd-restore-", dir=archive.parent) as tmp:
            manifest = _verify(archive, Path(tmp) / "archive")
            private_dir(Path(tmp) / "work")
            backup_pg.restore(Path(tmp) / "archive" / backup_pg.DUMP_NAME, store_url, manifest["store"],
                              Path(tmp) / "work")
        return {**manifest, "vectors": 0}
    if target_is_pg:
        raise BadRequest("this backup holds a SQLite data directory, but RAGD_STORE__URL names PostgreSQL: a "
                         "restore does not move a store between engines; unset it to restore into --data-dir")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise Conflict(f"{data_dir} is not empty: restore only into an empty or new directory")
    private_dir(data_dir)
    staging = Path(tempfile.mkdtemp(prefix=".ragd-restore-", dir=data_dir.parent))
    try:
        manifest = _verify(archive, staging)
        _reset_jobs(staging / DB_NAME)
        os.replace(staging / DB_NAME, data_dir / DB_NAME)
        if (staging / "files").is_dir():
            os.replace(staging / "files", data_dir / "files")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    store = manifest["store"]
    vectors = 0
    if store.get("embedding_model") and store.get("embedding_dim"):
        from ragd.store.backend import STORE_ID_KEY, open_backend

        backend = open_backend(str(data_dir / DB_NAME), migrate=False)
        try:
            index = DenseIndex(data_dir / "index", store["embedding_model"], int(store["embedding_dim"]),
                               backend.store.get_meta(STORE_ID_KEY))
            vectors = index.rebuild(backend.store)
            index.save()
        finally:
            backend.close()
    return {**manifest, "vectors": vectors}
