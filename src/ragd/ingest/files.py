"""Original files, stored by document id under ``DATA_DIR/files`` and never outside it."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def sanitize_filename(name: str, *, max_len: int = 200) -> str:
    """A display file name: last path component only, no control or path characters, bounded length."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > max_len:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: max_len - len(ext) - 1] + dot + ext) if dot and len(ext) < 16 else name[:max_len]
    return name or "unnamed"


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("not a valid file key")
        return self.root / key[-2:] / key

    def put(self, key: str, data: bytes) -> Path:
        """Write atomically (temp file + rename); a no-op when the file already exists."""
        path = self._path(key)
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.exists() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
