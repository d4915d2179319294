"""The settings sections of security: sign-in, request limits, rate limits, encryption, audit, privacy
(assembled into :class:`ragd.config.Settings`)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from ragd.config.sections import _Section


class AuthSettings(_Section):
    """Users, logins, API keys and roles (docs/security.md)."""

    enabled: bool = Field(
        True, description="Require authentication on the API. false: every request acts as a local admin (a "
        "single-user run on your own machine); the server warns loudly at start-up."
    )
    jwt_secret: SecretStr | None = Field(
        None, description="HMAC key signing access tokens (32+ characters). Empty: generated once into "
        "DATA_DIR/keys/jwt.key. Several API replicas must share it."
    )
    access_token_minutes: float = Field(15.0, gt=0, le=1440, description="Lifetime of an access token.")
    refresh_token_days: float = Field(
        14.0, gt=0, le=365, description="Lifetime of a refresh token (rotated on every use; a reused one revokes "
        "its whole login)."
    )
    password_min_length: int = Field(10, ge=8, le=128, description="Shortest accepted password.")
    bootstrap_admin: bool = Field(
        True, description="When the server starts with authentication on and no user at all, create admin@localhost "
        "with a random password, print it once and write it to DATA_DIR/initial-admin-password (mode 0600)."
    )
    password_min_score: int = Field(
        2, ge=0, le=4, description="Least zxcvbn strength score (0-4) of a new password: 2 refuses common "
        "passwords, their simple variants and passwords made of the e-mail. 0 checks length only."
    )
    login_attempts_per_minute: int = Field(
        10, ge=1, description="Sign-in attempts per sliding minute for one e-mail from one client address; past "
        "it that address alone gets 429 for that account (the owner signing in elsewhere is not locked out)."
    )
    login_attempts_per_address_per_minute: int = Field(
        30, ge=1, description="Sign-in attempts per sliding minute from one client address, whatever the e-mails "
        "(password spraying across accounts); past it 429."
    )
    login_attempts_per_account_per_minute: int = Field(
        100, ge=1, description="Ceiling of sign-in attempts per sliding minute for one e-mail from all addresses "
        "together: bounds guessing by many addresses at once; one address alone never reaches it."
    )


class LimitsSettings(_Section):
    """What one HTTP request may make the server do (docs/security.md, "Limits")."""

    max_json_mb: float = Field(
        1.0, gt=0, le=64, description="Largest request body of every route but uploads, in MiB (413 "
        "payload_too_large above: at once when Content-Length says so, else as soon as the bytes pass it)."
    )
    max_upload_request_mb: float = Field(
        1024.0, gt=0, description="Largest multipart body of one upload request (all its files), in MiB (413 "
        "payload_too_large above). Each file is also held to ingest.max_upload_mb."
    )
    max_upload_files: int = Field(100, ge=1, le=10_000, description="Most files in one upload request (413 above).")
    chat_max_messages: int = Field(
        50, ge=1, le=200, description="Most messages in one chat request (/api/v1/chat, /v1/chat/completions; 422 "
        "input_too_long above)."
    )
    chat_max_message_chars: int = Field(
        20_000, ge=100, le=20_000, description="Most characters in one chat message (422 input_too_long above)."
    )
    chat_max_total_chars: int = Field(
        40_000, ge=100, le=1_000_000, description="Most characters in all the messages of one chat request (422 "
        "input_too_long above)."
    )
    boxes_max_text_chars: int = Field(
        500, ge=10, le=4000, description="Longest text searched on a PDF page by GET …/pages/N/boxes?text= (422 "
        "input_too_long above)."
    )
    boxes_max_terms: int = Field(
        200, ge=1, le=4000, description="Most words in that text (422 input_too_long above)."
    )


_RATELIMIT_ROLES = ("admin", "user", "api_user", "viewer")  # = ragd.auth.actor.ROLES (a test pins it)
_DEFAULT_PER_MINUTE = {"admin": 1000, "user": 60, "api_user": 500, "viewer": 60}
_DEFAULT_UPLOAD_MB_PER_HOUR = {"admin": 10240.0, "user": 1024.0, "api_user": 4096.0, "viewer": 0.0}


class RateLimitSettings(_Section):
    """Per-identity request and upload budgets, shared by every server process (docs/ratelimits.md)."""

    enabled: bool = Field(
        True, description="Enforce the budgets below (429 + Retry-After). Requests of the local actor "
        "(authentication off) are never limited."
    )
    url: str = Field(
        "", description="Where the counters live. Empty: SQLite at DATA_DIR/ratelimit.sqlite3 (every process "
        "on this machine); redis://host:port/db: Redis (several machines)."
    )
    per_minute: dict[str, int] = Field(
        default_factory=lambda: dict(_DEFAULT_PER_MINUTE),
        description="Requests per sliding minute, by role (JSON object; roles left out keep their default; 0 "
        "refuses every request).",
    )
    upload_mb_per_hour: dict[str, float] = Field(
        default_factory=lambda: dict(_DEFAULT_UPLOAD_MB_PER_HOUR),
        description="Uploaded MiB per sliding hour, by role (JSON object; roles left out keep their default; 0 "
        "refuses every upload).",
    )

    @field_validator("per_minute", mode="before")
    @classmethod
    def _per_minute_over_defaults(cls, value: object) -> object:
        return {**_DEFAULT_PER_MINUTE, **value} if isinstance(value, dict) else value

    @field_validator("upload_mb_per_hour", mode="before")
    @classmethod
    def _upload_over_defaults(cls, value: object) -> object:
        return {**_DEFAULT_UPLOAD_MB_PER_HOUR, **value} if isinstance(value, dict) else value

    @field_validator("per_minute", "upload_mb_per_hour")
    @classmethod
    def _known_roles(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(_RATELIMIT_ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; roles are {list(_RATELIMIT_ROLES)}")
        negative = sorted(role for role, n in value.items() if n < 0)
        if negative:
            raise ValueError(f"budgets must be >= 0 (role(s) {negative})")
        return value


_KEY_PLACEHOLDERS = {"changeme", "change-me", "change_me", "secret", "placeholder", "your-key-here", "key", "none"}


def decode_encryption_key(text: str) -> bytes:
    """The 32 bytes of an AES-256 key given as base64 (standard or URL-safe alphabet). Raises ``ValueError``
    naming the problem, never the key itself."""
    value = text.strip()
    if value.lower() in _KEY_PLACEHOLDERS or len(set(value)) < 4:
        raise ValueError("is a placeholder, not a key; generate one with `ragd crypto generate-key`")
    try:
        raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not base64; generate a key with `ragd crypto generate-key`") from None
    if len(raw) != 32:
        raise ValueError(f"decodes to {len(raw)} bytes; AES-256 needs exactly 32 (`ragd crypto generate-key`)")
    if len(set(raw)) < 16:
        raise ValueError("is not random (all zeros or a repeated pattern); use `ragd crypto generate-key`")
    return raw


class EncryptionSettings(_Section):
    """Encryption at rest of the stored original files (docs/encryption.md)."""

    key: SecretStr | None = Field(
        None, description="Base64 of 32 random bytes (`ragd crypto generate-key`): originals are stored encrypted "
        "with AES-256-GCM under it. Empty: stored as uploaded (files already encrypted need their key below)."
    )
    previous_keys: list[SecretStr] = Field(
        default_factory=list, description="Earlier keys (JSON list of base64 strings), still accepted for reading "
        "until `ragd crypto rotate` has re-encrypted every file under `key`."
    )

    @field_validator("key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_encryption_key(value.get_secret_value())
        return value

    @field_validator("previous_keys")
    @classmethod
    def _valid_previous(cls, values: list[SecretStr]) -> list[SecretStr]:
        for v in values:
            decode_encryption_key(v.get_secret_value())
        return values


class AuditSettings(_Section):
    """The signed audit trail and how long ragd keeps what it records (docs/audit.md). Ages are in days;
    empty keeps forever. `ragd purge` applies them."""

    signing_key: SecretStr | None = Field(
        None, description="Base64 of the 32-byte Ed25519 private seed signing audit entries (`ragd audit "
        "generate-key`). Empty: generated once into DATA_DIR/keys/audit-ed25519.key (mode 0600). Machines "
        "sharing one store must share it."
    )
    conversation_days: float | None = Field(
        None, gt=0, description="Delete conversations (with their messages and feedback) idle for longer."
    )
    query_log_days: float | None = Field(
        None, gt=0, description="Delete logged questions and answers (with their feedback) older than this."
    )
    audit_days: float | None = Field(
        None, gt=0, description="Delete audit entries older than this (the chain stays verifiable: the purge "
        "records the last removed entry's hash)."
    )
    retention_interval_minutes: float = Field(
        60.0, gt=0, description="How often the server applies the retention ages above (when any is set); "
        "`ragd purge` applies them at once."
    )

    @field_validator("signing_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("signing_key")
    @classmethod
    def _valid_seed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                raw = base64.b64decode(value.get_secret_value().strip(), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("is not base64; generate a key with `ragd audit generate-key`") from None
            if len(raw) != 32 or len(set(raw)) < 16:
                raise ValueError("must be base64 of 32 random bytes (`ragd audit generate-key`)")
        return value


class PrivacySettings(_Section):
    """Redaction of personal data (docs/privacy.md). Logs are always redacted; these settings add the stored text
    and the answers."""

    redact_ingest: bool = Field(
        False, description="Replace personal data in a document's extracted text by typed placeholders ([EMAIL], "
        "[IBAN]…) before chunking: the stored text, the chunks and the indexes never contain it (the original file "
        "is kept as uploaded)."
    )
    redact_answers: bool = Field(
        False, description="Redact personal data in answers (streamed or not), their citation snippets and the "
        "passages returned as search results."
    )
    kinds: list[Literal["email", "phone", "iban", "card", "nir", "ssn", "ip"]] = Field(
        default_factory=lambda: ["email", "phone", "iban", "card", "nir", "ssn", "ip"],
        description="Kinds of personal data redacted at ingestion and in answers (logs: always all), as a JSON "
        "list, e.g. RAGD_PRIVACY__KINDS='[\"email\",\"iban\"]'.",
    )
    phone_regions: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=lambda: ["FR", "GB", "US"], max_length=50,
        description="Countries (ISO 3166 alpha-2) whose national-format phone numbers (without +country code) are "
        "redacted at ingestion and in answers, e.g. RAGD_PRIVACY__PHONE_REGIONS='[\"FR\",\"DE\"]'; "
        "international numbers are found for every country. Logs: FR, GB, US.",
    )
