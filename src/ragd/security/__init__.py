"""Security building blocks with no ragd service behind them: encryption at rest of stored files
(:mod:`ragd.security.encryption`) and upload-time archive checks (:mod:`ragd.security.archives`)."""

from ragd.security.archives import ArchiveLimits, check_zip, is_zip
from ragd.security.encryption import CRYPTO_ERRORS, FileCipher, StoredFormat, describe, generate_key, key_id

__all__ = [
    "CRYPTO_ERRORS",
    "ArchiveLimits",
    "FileCipher",
    "StoredFormat",
    "check_zip",
    "describe",
    "generate_key",
    "is_zip",
    "key_id",
]
