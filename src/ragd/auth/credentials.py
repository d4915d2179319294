"""Credential primitives: argon2 password hashes, JWT access tokens, API keys and refresh tokens.

* Passwords: argon2id (argon2-cffi defaults), rehashed on login when the parameters change.
* Access tokens: HS256 JWTs (``sub`` user id, ``tid`` tenant, ``role``, ``exp``, ``iat``, ``jti``), short-lived.
* API keys: ``ragd_<prefix>_<secret>`` — the 8-character prefix is stored in clear (to find the key and show
  it), the whole key only as a SHA-256 digest: keys carry 190 bits of randomness, so a fast hash is safe and keeps
  every request cheap (argon2 is for low-entropy passwords).
* Refresh tokens: 256 random bits, stored as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ragd.errors import InvalidCredentials, TokenExpired, Unauthorized
from ragd.security.filemodes import private_dir

KEY_PREFIX = "ragd_"
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists (``password_hash=None`` verifies against a dummy)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str
    prefix: str
    secret_hash: str


def new_api_key() -> NewKey:
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(24)}"
    return NewKey(key, prefix, digest(key))


def parse_api_key(key: str) -> str | None:
    """The prefix of a well-formed key, else ``None``."""
    if not key.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = key[len(KEY_PREFIX):].partition("_")
    if not sep or len(prefix) != 8 or len(secret) < 16:
        return None
    return prefix


def key_matches(key: str, secret_hash: str) -> bool:
    return hmac.compare_digest(digest(key), secret_hash)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


class TokenSigner:
    """Issues and checks HS256 access tokens."""

    algorithm = "HS256"

    def __init__(self, secret: str, ttl_seconds: float) -> None:
        self._secret = secret
        self.ttl = ttl_seconds

    def issue(self, user_id: str, tenant_id: str, role: str, issued_at: float | None = None) -> str:
        # A fractional iat (RFC 7519 NumericDate), compared with the user's sessions_after on every request.
        now = time.time() if issued_at is None else issued_at
        claims = {"sub": user_id, "tid": tenant_id, "role": role, "iat": now, "exp": int(now + self.ttl),
                  "jti": uuid.uuid4().hex, "iss": "ragd"}
        return jwt.encode(claims, self._secret, algorithm=self.algorithm)

    def check(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode(token, self._secret, algorithms=[self.algorithm], issuer="ragd",
                              options={"require": ["sub", "tid", "exp", "iat"]})
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("the access token has expired: refresh it or sign in again") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("the access token is not valid") from exc


def jwt_secret(configured: str | None, data_dir: Path) -> str:
    """The key signing access tokens: ``auth.jwt_secret`` if set, else the one generated into
    ``DATA_DIR/keys/jwt.key`` (shared by the server and the CLI)."""
    return configured if configured else load_or_create_secret(data_dir / "keys" / "jwt.key")


def load_or_create_secret(path: Path, nbytes: int = 48) -> str:
    """A random secret kept in ``path`` (mode 0600), created on first use."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(nbytes))
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # atomic and exclusive: of two processes starting at once, the first one wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


__all__ = [
    "InvalidCredentials", "NewKey", "TokenSigner", "digest", "hash_password", "key_matches",
    "load_or_create_secret", "needs_rehash", "new_api_key", "new_refresh_token", "parse_api_key",
    "verify_password",
]
