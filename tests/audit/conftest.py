"""An audit log on a fresh SQLite database with a fresh key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragd.audit.signing import AuditSigner, load_or_create_key_file
from ragd.audit.sqlite import SqliteAuditLog


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ragd.sqlite3"


@pytest.fixture
def signer(tmp_path: Path) -> AuditSigner:
    return load_or_create_key_file(tmp_path / "keys" / "audit-ed25519.key")


@pytest.fixture
def log(db_path: Path, signer: AuditSigner) -> Iterator[SqliteAuditLog]:
    audit = SqliteAuditLog(db_path, signer)
    audit.migrate()
    yield audit
    audit.close()
