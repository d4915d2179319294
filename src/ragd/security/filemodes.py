"""Files at rest are the owner's alone: directories ragd makes are 0700, files 0600, whatever the umask.

The data directory holds every original, the database (and its ``-wal``/``-shm`` files, which SQLite creates
itself with the database file's mode), the rate-limit database, keys, the dense index and backups. Two layers
keep them private:

* :func:`restrict_umask` at the start of every entry point (the CLI, hence ``ragd serve`` and its worker
  processes, and :func:`ragd.api.app.create_app` for servers started by another launcher), so files that
  libraries create (SQLite's WAL, prometheus-client's multi-process files) are private too;
* explicit modes where ragd creates a file or directory itself (:func:`private_dir`, :func:`open_private`,
  :func:`ensure_private_file`), so a caller that resets the umask changes nothing.

Data directories written by older versions (0644 files in 0755 directories) are tightened when ragd opens them
(:func:`tighten_data_dir`), with one log line saying how many entries changed.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
_OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def restrict_umask() -> int:
    """Make every file this process creates from now on private to its owner (group and others get no bit).
    Returns the previous umask."""
    old = os.umask(PRIVATE_UMASK)
    os.umask(old | PRIVATE_UMASK)
    return old


def private_dir(path: Path) -> Path:
    """``mkdir -p`` with mode 0700 for every directory created; an existing ``path`` open to others is tightened."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        try:
            p.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        else:
            os.chmod(p, DIR_MODE)  # mkdir's mode is filtered by the umask; the result must not depend on it
    _tighten(path, DIR_MODE)
    return path


def open_private(path: Path, flags: int) -> int:
    """``os.open(path, flags | O_CREAT, 0600)``; a file that already existed with looser bits is tightened."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & _OPEN_TO_OTHERS:
            os.fchmod(fd, FILE_MODE)
    except PermissionError:  # not ours (a copy an auditor reads, say): use it as it is
        log.warning("%s is readable by other users and not owned by this user: left as it is", path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def ensure_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it is missing; tighten it if it exists and is open to others."""
    os.close(open_private(path, os.O_RDONLY))


def _tighten(path: Path, mode: int) -> bool | None:
    """Remove the group and other bits of ``path`` (not a symbolic link). True if changed, False if nothing was
    to change, None if this process may not change it (logged)."""
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode) or not stat.S_IMODE(st.st_mode) & _OPEN_TO_OTHERS:
            return False
        os.chmod(path, stat.S_IMODE(st.st_mode) & ~_OPEN_TO_OTHERS | (mode & stat.S_IRWXU))
        return True
    except FileNotFoundError:
        return False
    except PermissionError:
        log.warning("%s is open to other users and not owned by this user: left as it is", path)
        return None


#: What ragd creates in a data directory (the store and rate-limit databases with their side files, originals,
#: dense index, keys, backups, the first administrator's password, multi-process metrics). Only these are
#: tightened: a data directory may be shared with files of other programs (``RAGD_DATA_DIR=$HOME``, say).
DATA_DIR_ENTRIES = frozenset({
    *(f"{db}{side}" for db in ("ragd.sqlite3", "ratelimit.sqlite3") for side in ("", "-wal", "-shm", "-journal")),
    "files", "index", "keys", "backups", "initial-admin-password", "prometheus-multiproc",
})


def tighten_data_dir(root: Path) -> int:
    """Make ``root`` 0700 and everything ragd keeps in it (:data:`DATA_DIR_ENTRIES`, recursively) private:
    directories 0700, files 0600 (symbolic links are neither followed nor changed). Returns how many entries
    changed and logs it; entries this process may not change are logged, never fatal.

    Every directory is checked, but the files inside one only when that directory itself was open to others
    (as older versions left them): ragd creates private files in private directories, so once a tree has been
    tightened a start costs one ``lstat`` per directory (about 260 with the originals' fan-out), not one per
    stored original."""
    changed, failed = 0, 0

    def count(outcome: bool | None) -> None:
        nonlocal changed, failed
        changed += outcome is True
        failed += outcome is None

    count(_tighten(root, DIR_MODE))
    stack: list[Path] = []
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                if entry.name not in DATA_DIR_ENTRIES:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    count(_tighten(Path(entry.path), FILE_MODE))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    while stack:
        directory = stack.pop()
        was_open = _tighten(directory, DIR_MODE)
        count(was_open)
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif was_open is not False and entry.is_file(follow_symlinks=False):
                        count(_tighten(Path(entry.path), FILE_MODE))
        except (FileNotFoundError, PermissionError):
            failed += 1
    if changed:
        log.warning("tightened the permissions of %d entries under %s (directories 0700, files 0600: they were "
                    "readable by other users)", changed, root)
    if failed:
        log.warning("could not tighten the permissions of %d entries under %s (not owned by this user?)", failed,
                    root)
    return changed


def private_sqlite_file(path: Path) -> None:
    """Before SQLite opens ``path``: its directory made 0700 if missing, the database created (or tightened) 0600;
    SQLite then gives the ``-wal``/``-shm``/``-journal`` files it creates the database's mode. Side files an
    older version left open to others are tightened too."""
    if not path.parent.exists():
        private_dir(path.parent)
    ensure_private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            _tighten(side, FILE_MODE)
