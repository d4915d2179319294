"""The audit signing key: from the setting, else generated once into the data directory (mode 0600)."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from ragd.audit.signing import (
    KEY_FILE,
    AuditSigner,
    generate_seed_b64,
    load_or_create_key_file,
    load_signer,
    public_key_b64,
    public_key_from_b64,
)
from ragd.config import Settings
from ragd.errors import ConfigurationError


def test_generated_once_with_private_permissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGD_AUDIT__SIGNING_KEY", raising=False)  # set for every process of a PostgreSQL run
    settings = Settings(data_dir=tmp_path)
    first = load_signer(settings)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = load_signer(settings)
    assert again.key_id == first.key_id and again.public_key_b64 == first.public_key_b64
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_setting_takes_precedence(tmp_path: Path) -> None:
    seed = generate_seed_b64()
    signer = load_signer(Settings(data_dir=tmp_path, audit={"signing_key": seed}))
    assert signer.key_id == AuditSigner.from_seed_b64(seed).key_id
    assert not (tmp_path / KEY_FILE).exists()
    assert load_signer(Settings(data_dir=tmp_path, audit={"signing_key": ""})).key_id != signer.key_id  # empty: file


@pytest.mark.parametrize("bad", ["not base64!", "c2hvcnQ=", "A" * 43 + "="])
def test_bad_setting_is_refused_without_echoing_it(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(data_dir=tmp_path, audit={"signing_key": bad})
    assert bad not in str(info.value)


def test_corrupt_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit-ed25519.key"
    path.parent.mkdir()
    path.write_text("garbage")
    with pytest.raises(ConfigurationError, match=r"audit-ed25519\.key"):
        load_or_create_key_file(path)


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit-ed25519.key"
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(load_or_create_key_file(path).key_id)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8 and len(set(ids)) == 1


def test_public_key_round_trip(tmp_path: Path) -> None:
    signer = load_or_create_key_file(tmp_path / "k")
    assert public_key_b64(public_key_from_b64(signer.public_key_b64)) == signer.public_key_b64
    assert signer.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")
    with pytest.raises(ValueError):
        public_key_from_b64("c2hvcnQ=")
