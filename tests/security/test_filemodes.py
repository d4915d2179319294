"""Files at rest are private to ragd's user whatever the umask: directories 0700, files 0600.

A real server started with umask 0022 on a fresh data directory (authentication on, so keys and the initial
administrator password are written; an upload stores an original; the admin API writes a backup), then
`ragd backup` and `ragd restore` from the CLI: no file or directory anywhere is open to the group or to others.
A data directory left 0644/0755 by an older version is tightened at start, with a log line.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only  # modes of the SQLite file and its WAL

OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def loose(root: Path) -> list[str]:
    """Every entry under ``root`` (``root`` included) with a group/other bit, or a directory that is not 0700."""
    out = []
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        mode = stat.S_IMODE(st.st_mode)
        if mode & OPEN_TO_OTHERS or (stat.S_ISDIR(st.st_mode) and mode != 0o700):
            out.append(f"{path.relative_to(root.parent)} {mode:o}")
    return out


def ragd_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ragd.cli.main", *args], capture_output=True, text=True, timeout=600,
                          env=os.environ.copy())


def test_fresh_data_directory_server_and_backups_are_private(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    with umask(0o022):
        server = server_factory(data, RAGD_AUTH__ENABLED="true").start()
        password = (data / "initial-admin-password").read_text().strip()
        with server.client() as c:
            r = c.post("/api/v1/auth/login", json={"username": "admin@localhost", "password": password})
            assert r.status_code == 200, r.text
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            up = c.post("/api/v1/documents/upload", headers=auth,
                        files=[("file", ("note.txt", b"The archive room key is kept by the porter."))])
            assert up.status_code == 201, up.text
            server.wait_done(c, [up.json()["documents"][0]["id"]], headers=auth)
            chat = c.post("/api/v1/chat", headers=auth, json={"messages": [{"role": "user", "content": "key?"}]})
            assert chat.status_code == 200, chat.text
            made = c.post("/api/v1/admin/backup", headers=auth)
            assert made.status_code == 201, made.text
        server.stop()  # the dense index is saved on the way out
        out = tmp_path / "backups" / "nested"
        cli = ragd_cli("backup", str(out / "cli.tar.gz"), "--data-dir", str(data))
        assert cli.returncode == 0, cli.stderr
        restored = tmp_path / "restored"
        cli = ragd_cli("restore", str(out / "cli.tar.gz"), "--data-dir", str(restored))
        assert cli.returncode == 0, cli.stderr

    names = {p.name for p in data.rglob("*")}
    assert {"ragd.sqlite3", "ratelimit.sqlite3", "initial-admin-password", "jwt.key", "backups", "files",
            "index"} <= names, sorted(names)
    assert any(p.parent.parent.name == "files" for p in data.rglob("*") if p.is_file())  # an original is stored
    assert any(p.name.endswith("-wal") for p in data.iterdir()) or (data / "ragd.sqlite3").is_file()
    assert loose(data) == []
    assert loose(tmp_path / "backups") == []
    assert loose(restored) == []
    archives = [*(data / "backups").iterdir(), out / "cli.tar.gz"]
    assert len(archives) == 2
    for archive in archives:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
        assert members and all(m.mode & OPEN_TO_OTHERS == 0 for m in members), [(m.name, oct(m.mode)) for m in members]


def test_a_data_directory_left_open_by_an_older_version_is_tightened(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    with umask(0o022):
        (data / "files" / "ab").mkdir(parents=True)
        (data / "keys").mkdir()
        with sqlite3.connect(data / "ragd.sqlite3") as conn:  # as SQLite makes it under umask 0022: 0644
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE leftover (x)")
        (data / "files" / "ab" / "d_0123456789ab").write_bytes(b"an original")
        (data / "keys" / "jwt.key").write_text("k" * 64)
        (data / "not-ragds").mkdir()  # a data directory may hold other programs' files: those are left alone
        (data / "not-ragds" / "notes.txt").write_text("someone else's")
        for path in [data, *data.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        assert loose(data)
        server = server_factory(data).start()
        server.stop()
    assert loose(data) == ["data/not-ragds 755", "data/not-ragds/notes.txt 644"]
    log = (tmp_path / f"server-{server.port}.log").read_text()
    assert "tightened the permissions" in log


def test_explicit_modes_do_not_depend_on_the_umask(tmp_path: Path) -> None:
    """Inside the process, with the most permissive umask: what ragd creates itself is still private, and SQLite's
    WAL and SHM files take the database's 0600."""
    from ragd.config import Settings
    from ragd.ops.backup import create_backup
    from ragd.security.filemodes import open_private, private_dir
    from ragd.store.sqlite import SqliteStore

    with umask(0):
        made = private_dir(tmp_path / "a" / "b" / "c")
        os.close(open_private(made / "f", os.O_WRONLY))
        store = SqliteStore(tmp_path / "a" / "ragd.sqlite3")
        store.migrate()
        store.set_meta("k", "v")
        assert (tmp_path / "a" / "ragd.sqlite3-wal").exists()
        create_backup(Settings(data_dir=tmp_path / "a"), tmp_path / "out" / "b.zip")
        store.close()
    assert loose(tmp_path / "a") == []
    assert loose(tmp_path / "out") == []
    with zipfile.ZipFile(tmp_path / "out" / "b.zip") as zf:
        assert all((info.external_attr >> 16) & OPEN_TO_OTHERS == 0 for info in zf.infolist())
