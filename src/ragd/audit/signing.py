"""The Ed25519 key that signs audit entries.

:func:`load_signer` takes the key from ``RAGD_AUDIT__SIGNING_KEY`` (base64 of the 32-byte private seed) or, when
that is empty, from ``DATA_DIR/keys/audit-ed25519.key``, generating that file (mode 0600, directory 0700) at
first start. Two processes starting at once agree on one key: the file is written under a temporary name and
hard-linked into place, which fails for the second writer, who then reads the first one's key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ragd.config import Settings
from ragd.errors import ConfigurationError
from ragd.security.filemodes import private_dir

KEY_FILE = Path("keys") / "audit-ed25519.key"
"""Where the generated key lives, relative to the data directory."""


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint: the first 16 hex digits of sha256 over the raw 32-byte public key."""
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()[:16]


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    """Base64 of the raw 32-byte public key."""
    return base64.b64encode(raw_public_key(public_key)).decode()


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    """The public key as a SubjectPublicKeyInfo PEM block (``openssl pkey -pubin`` reads it)."""
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """The inverse of :attr:`AuditSigner.public_key_b64`; ``ValueError`` if it is not a 32-byte key."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {exc}") from exc
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_signature(public_key: Ed25519PublicKey, signature_b64: str, message: bytes) -> bool:
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


class AuditSigner:
    """Signs with one Ed25519 private key; exposes the public half for verifiers."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def from_seed_b64(cls, text: str) -> AuditSigner:
        try:
            seed = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigurationError("the audit signing key must be base64 of a 32-byte Ed25519 seed") from exc
        if len(seed) != 32:
            raise ConfigurationError(f"the audit signing key must be 32 bytes (base64-decoded), got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_key_b64(self) -> str:
        return public_key_b64(self.public_key)

    @property
    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)

    def sign(self, message: bytes) -> str:
        """Base64 signature of ``message``."""
        return base64.b64encode(self._key.sign(message)).decode()


def generate_seed_b64() -> str:
    """A fresh key, in the form ``RAGD_AUDIT__SIGNING_KEY`` takes."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def load_signer(settings: Settings) -> AuditSigner:
    """The configured key, else the data directory's key file (created on first use)."""
    configured = settings.audit.signing_key
    if configured is not None and configured.get_secret_value().strip():
        return AuditSigner.from_seed_b64(configured.get_secret_value())
    return load_or_create_key_file(settings.data_dir / KEY_FILE)


def load_or_create_key_file(path: Path) -> AuditSigner:
    if not path.exists():
        private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(generate_seed_b64() + "\n")
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another process won the race: use its key
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the audit signing key {path}: {exc}") from exc
    try:
        return AuditSigner.from_seed_b64(text)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc.detail}") from exc
