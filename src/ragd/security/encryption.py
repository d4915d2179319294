"""Encryption at rest of stored files: AES-256-GCM, one random 96-bit nonce per file, bound to its document id.

Stored format (every integer big-endian)::

    MAGIC (8 bytes: 0x89 "RAGDENC")  version (1 byte)  …
    version 1 — AES-256-GCM:   key id (8 bytes)  nonce (12 bytes)  ciphertext ‖ tag (16 bytes)
    version 0 — plain envelope: the file's bytes, unchanged

A file without the magic is a plain file as uploaded (written before encryption was turned on, or with it off):
it stays readable. The plain envelope is only written, with encryption off, for content that itself begins
with the magic, so that such content is never mistaken for ciphertext.

The key id is the first 8 bytes of SHA-256 over a label and the key: it tells which configured key (current or
previous) opens a file without revealing anything usable about the key. The associated data is the header plus
the document id, so a file copied over another document's file, or a header edited, fails authentication
(:class:`ragd.errors.DecryptionFailed`). A file under a key this process lacks raises
:class:`ragd.errors.EncryptionKeyMissing`. Error messages name key ids and document ids, never key material.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ragd.config import EncryptionSettings, decode_encryption_key
from ragd.errors import DecryptionFailed, EncryptionKeyMissing, PayloadTooLarge

MAGIC = b"\x89RAGDENC"
V_PLAIN = 0
V_AESGCM = 1
KEY_ID_LEN = 8
NONCE_LEN = 12
TAG_LEN = 16
HEADER_LEN = len(MAGIC) + 1 + KEY_ID_LEN + NONCE_LEN
"""Bytes before the ciphertext of a version-1 file (29); enough to tell any stored file's format."""
MAX_PLAINTEXT = 2**31 - 1 - TAG_LEN  # the limit of one AES-GCM call in `cryptography`
_KEY_ID_LABEL = b"ragd/file-key-id/v1\x00"
_AAD_LABEL = b"ragd/document/"

CRYPTO_ERRORS = (EncryptionKeyMissing, DecryptionFailed)
"""What reading a stored file can raise besides ``OSError``: a missing key, or a file that fails authentication."""


def key_id(key: bytes) -> str:
    """The 16-hex-digit id of ``key`` recorded in each file's header (a hash prefix, not the key)."""
    return hashlib.sha256(_KEY_ID_LABEL + key).digest()[:KEY_ID_LEN].hex()


def generate_key() -> str:
    """A fresh random key, base64-encoded (what ``RAGD_ENCRYPTION__KEY`` takes)."""
    while True:
        text = base64.b64encode(os.urandom(32)).decode("ascii")
        try:
            decode_encryption_key(text)  # rejects only astronomically unlikely low-variety draws
        except ValueError:
            continue
        return text


@dataclass(frozen=True, slots=True)
class StoredFormat:
    """How one stored file is kept: ``plain`` (as uploaded, or in the plain envelope) or ``encrypted`` under
    ``key_id``."""

    kind: Literal["plain", "encrypted"]
    key_id: str | None = None


def describe(head: bytes) -> StoredFormat:
    """The format of a stored file from its first :data:`HEADER_LEN` bytes (or all of it, if shorter).

    Raises :class:`DecryptionFailed` for the magic followed by an unknown version or a truncated header."""
    if not head.startswith(MAGIC):
        return StoredFormat("plain")
    version = head[len(MAGIC)] if len(head) > len(MAGIC) else None
    if version == V_PLAIN:
        return StoredFormat("plain")
    if version == V_AESGCM and len(head) >= HEADER_LEN:
        return StoredFormat("encrypted", head[len(MAGIC) + 1 : len(MAGIC) + 1 + KEY_ID_LEN].hex())
    raise DecryptionFailed(
        "a stored file has ragd's encryption header with an unknown version or is truncated "
        f"(version {version!r}, {len(head)} bytes read)"
    )


class FileCipher:
    """Seals and opens stored files. ``key`` (32 bytes) encrypts new files; ``key`` and ``previous`` all open
    files. Without ``key`` files are written plain and only files under one of ``previous`` can be opened."""

    def __init__(self, key: bytes | None = None, previous: Iterable[bytes] = ()) -> None:
        self._current: tuple[str, AESGCM] | None = None
        self._keys: dict[str, AESGCM] = {}
        for k in previous:
            self._keys[key_id(k)] = AESGCM(k)
        if key is not None:
            kid = key_id(key)
            self._current = (kid, AESGCM(key))
            self._keys[kid] = self._current[1]

    @classmethod
    def from_settings(cls, settings: EncryptionSettings) -> FileCipher:
        key = decode_encryption_key(settings.key.get_secret_value()) if settings.key is not None else None
        previous = [decode_encryption_key(k.get_secret_value()) for k in settings.previous_keys]
        return cls(key, previous)

    def __repr__(self) -> str:  # never the keys
        return f"FileCipher(key_id={self.key_id!r}, known={sorted(self._keys)!r})"

    @property
    def enabled(self) -> bool:
        """Whether new files are encrypted (a current key is configured)."""
        return self._current is not None

    @property
    def key_id(self) -> str | None:
        """The id of the current key, or ``None`` with encryption off."""
        return self._current[0] if self._current else None

    @property
    def known_key_ids(self) -> frozenset[str]:
        """Ids of every key that can open files (current and previous)."""
        return frozenset(self._keys)

    @staticmethod
    def _aad(header: bytes, doc_id: str) -> bytes:
        return header + _AAD_LABEL + doc_id.encode("utf-8")

    def encrypt(self, data: bytes, doc_id: str) -> bytes:
        """``data`` encrypted under the current key and bound to ``doc_id``."""
        if self._current is None:
            raise EncryptionKeyMissing("no encryption key is configured (RAGD_ENCRYPTION__KEY)")
        if len(data) > MAX_PLAINTEXT:
            raise PayloadTooLarge(f"a file of {len(data)} bytes is too large to encrypt in one piece")
        kid, aead = self._current
        header = MAGIC + bytes([V_AESGCM]) + bytes.fromhex(kid) + os.urandom(NONCE_LEN)
        return header + aead.encrypt(header[-NONCE_LEN:], data, self._aad(header, doc_id))

    def seal(self, data: bytes, doc_id: str) -> bytes:
        """What to store for ``data``: encrypted with a current key, else the bytes as they are (in the plain
        envelope when they begin with the magic)."""
        if self._current is not None:
            return self.encrypt(data, doc_id)
        if data.startswith(MAGIC):
            return MAGIC + bytes([V_PLAIN]) + data
        return data

    def open(self, blob: bytes, doc_id: str) -> bytes:
        """The original bytes of a stored file (plain, plain envelope, or encrypted under a known key)."""
        fmt = describe(blob[:HEADER_LEN])
        if fmt.kind == "plain":
            return blob[len(MAGIC) + 1 :] if blob.startswith(MAGIC) else blob
        assert fmt.key_id is not None
        aead = self._keys.get(fmt.key_id)
        if aead is None:
            configured = f"configured key ids: {', '.join(sorted(self._keys))}" if self._keys else "no key configured"
            raise EncryptionKeyMissing(
                f"the original of {doc_id!r} is encrypted under key id {fmt.key_id}, which this process does not "
                f"have ({configured}); set RAGD_ENCRYPTION__KEY or RAGD_ENCRYPTION__PREVIOUS_KEYS"
            )
        if len(blob) < HEADER_LEN + TAG_LEN:
            raise DecryptionFailed(f"the stored original of {doc_id!r} is truncated")
        header = blob[:HEADER_LEN]
        try:
            return aead.decrypt(header[-NONCE_LEN:], blob[HEADER_LEN:], self._aad(header, doc_id))
        except InvalidTag:
            raise DecryptionFailed(
                f"the stored original of {doc_id!r} does not authenticate under key id {fmt.key_id}: it was "
                "altered, truncated or belongs to another document"
            ) from None
