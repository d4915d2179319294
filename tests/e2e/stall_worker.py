"""``python -m tests.e2e.stall_worker worker …``: ``ragd worker`` stuck in the middle of a document, for a test to
kill. A document whose text holds ``EMBED-STALL`` is parsed and chunked (its status reaches ``embedding``, its job
is held under a lease the worker keeps renewing), then its embedding step never returns. Other documents are
processed as usual."""

from __future__ import annotations

import threading
from typing import Any

from ragd.ingest.pipeline import IngestService

MARKER = "EMBED-STALL"
_original = IngestService._embed_missing
_never = threading.Event()


def _stalling(self: IngestService, texts_by_hash: dict[str, str], ids_by_hash: dict[str, Any]) -> None:
    if any(MARKER in text for text in texts_by_hash.values()):
        _never.wait()  # until the process is killed
    _original(self, texts_by_hash, ids_by_hash)


def main() -> None:
    IngestService._embed_missing = _stalling  # type: ignore[method-assign]
    from ragd.cli.main import main as ragd_main

    ragd_main()


if __name__ == "__main__":
    main()
