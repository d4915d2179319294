"""``ragd crypto generate-key|status|rotate``: keys and encryption at rest of the stored originals.

``rotate`` re-encrypts every stored file under the current key (``RAGD_ENCRYPTION__KEY``), reading it plain or
with the current or a previous key (``RAGD_ENCRYPTION__PREVIOUS_KEYS``). Each file is rewritten atomically (temp
file, fsync, rename), and files already under the current key are skipped, so an interrupted rotation is simply
run again. Only key ids (hash prefixes) are ever printed, never keys — except by ``generate-key``, whose output
is the new key.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ragd.cli.common import DataDirOpt, console_err, run_guarded, settings_for
from ragd.config import Settings
from ragd.errors import Conflict, EncryptionKeyMissing
from ragd.ingest.files import FileStore, open_file_store
from ragd.security.encryption import CRYPTO_ERRORS, generate_key
from ragd.security.filemodes import open_private, private_dir

app = typer.Typer(help="Encryption at rest of stored originals: generate a key, show status, rotate keys.",
                  no_args_is_help=True)

LOCK_NAME = ".rotate.lock"


def file_store(settings: Settings) -> AbstractContextManager[FileStore]:
    """The stored originals: files under ``DATA_DIR/files`` (SQLite), or the database's blobs (PostgreSQL)."""
    return open_file_store(settings)


@dataclass(slots=True)
class RotationReport:
    files: int = 0
    rotated: int = 0
    current: int = 0
    gone: int = 0
    failed: list[str] = field(default_factory=list)


@contextmanager
def rotation_lock(root: Path) -> Iterator[None]:
    """One rotation at a time per data directory (an advisory lock on ``files/.rotate.lock``)."""
    private_dir(root)
    with os.fdopen(open_private(root / LOCK_NAME, os.O_RDWR | os.O_APPEND), "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(f"another `ragd crypto rotate` is running on {root}") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def rotate(store: FileStore, keys: list[str], advance: Callable[[], None] = lambda: None) -> RotationReport:
    """Re-encrypt ``keys`` under the store's current key; a file that cannot be read is reported, not fatal."""
    if not store.cipher.enabled:
        raise EncryptionKeyMissing("set RAGD_ENCRYPTION__KEY to the new key (and RAGD_ENCRYPTION__PREVIOUS_KEYS "
                                   "to the old ones) before rotating; `ragd crypto generate-key` makes one")
    report = RotationReport(files=len(keys))
    for key in keys:
        try:
            outcome = store.reencrypt(key)
        except (*CRYPTO_ERRORS, OSError) as exc:
            report.failed.append(f"{key}: {getattr(exc, 'detail', None) or exc}")
        else:
            setattr(report, outcome, getattr(report, outcome) + 1)
        advance()
    return report


def status_report(store: FileStore) -> dict[str, Any]:
    """Counts of plain files and of files per key id, each key id marked current, previous or unknown."""
    cipher = store.cipher
    plain, unreadable = 0, 0
    by_key: dict[str, int] = {}
    for key in store.iter_keys():
        try:
            fmt = store.state(key)
        except CRYPTO_ERRORS:
            unreadable += 1
            continue
        if fmt is None:
            continue
        if fmt.key_id is None:
            plain += 1
        else:
            by_key[fmt.key_id] = by_key.get(fmt.key_id, 0) + 1

    def role(kid: str) -> str:
        return "current" if kid == cipher.key_id else "previous" if kid in cipher.known_key_ids else "unknown"

    return {
        "encryption": "on" if cipher.enabled else "off",
        "current_key_id": cipher.key_id,
        "files": plain + unreadable + sum(by_key.values()),
        "plain": plain,
        "unreadable": unreadable,
        "key_ids": {kid: {"files": n, "role": role(kid)} for kid, n in sorted(by_key.items())},
    }


@app.command("generate-key")
def generate_key_cmd() -> None:
    """Print a fresh random key (base64 of 32 bytes) for RAGD_ENCRYPTION__KEY. Keep it secret and backed up:
    files encrypted under a lost key cannot be recovered."""
    sys.stdout.write(generate_key() + "\n")


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Count stored originals: plain, and encrypted per key id (current, previous or unknown key)."""
    report: dict[str, Any] = {}

    def _run() -> None:
        with file_store(settings_for(data_dir)) as store:
            report.update(status_report(store))

    run_guarded(_run)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    out = Console()
    current = report["current_key_id"] or "none"
    out.print(f"encryption {report['encryption']} (current key id {current}); {report['files']} stored files",
              highlight=False)
    t = Table("stored as", "files")
    t.add_row("plain", str(report["plain"]))
    for kid, entry in report["key_ids"].items():
        t.add_row(f"key {kid} ({entry['role']})", str(entry["files"]))
    if report["unreadable"]:
        t.add_row("unreadable header", str(report["unreadable"]))
    out.print(t)


@app.command("rotate")
def rotate_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Re-encrypt every stored original under RAGD_ENCRYPTION__KEY (reading plain files and files under the
    current or a previous key). Atomic per file and resumable: run it again after an interruption. Exit code 1
    when a file could not be read."""
    result: list[RotationReport] = []

    def _run() -> None:
        with file_store(settings_for(data_dir)) as store:
            _rotate_all(store)

    def _rotate_all(store: FileStore) -> None:
        rotate(store, [])  # refuses at once without a current key
        with rotation_lock(store.root):
            stale = store.remove_stale_temp()
            if stale:
                console_err.print(f"removed {stale} temporary files left by interrupted writes", highlight=False)
            keys = list(store.iter_keys())
            progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=console_err, transient=False)
            with progress:
                task = progress.add_task(f"re-encrypting under key {store.cipher.key_id}", total=len(keys))
                result.append(rotate(store, keys, lambda: progress.advance(task)))

    run_guarded(_run)
    report = result[0]
    if as_json:
        sys.stdout.write(json.dumps(asdict(report), indent=2) + "\n")
    console_err.print(f"{report.files} files: {report.rotated} re-encrypted, {report.current} already under the "
                      f"current key, {report.gone} deleted meanwhile, {len(report.failed)} failed", highlight=False)
    for line in report.failed:
        console_err.print(f"  [red]{line}[/red]", highlight=False)
    if report.failed:
        raise typer.Exit(1)
