"""The ``Loader`` port: bytes of one file → :class:`ragd.models.ParsedDocument`.

A loader raises a :class:`ragd.errors.DocumentError` subclass (``DocumentEmpty``, ``DocumentEncrypted``,
``DocumentCorrupt``, ``NoTextFound``) with a specific human reason when the file cannot be read;
it never lets a parser's own exception escape.
"""

from __future__ import annotations

from typing import Protocol

from ragd.models import ParsedDocument


class Loader(Protocol):
    def __call__(self, data: bytes, filename: str) -> ParsedDocument: ...
