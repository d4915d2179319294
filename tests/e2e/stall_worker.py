"""``python -m tests.e2e.stall_worker worker …``: ``ragd worker`` that stops in the middle of a document, in its
embedding step (the document's status is then ``embedding`` and its job is held under a lease the worker keeps
renewing), for a test to act while it is there:

* ``EMBED-STALL`` in a text: the step never returns (the test kills the worker);
* ``EMBED-HOLD`` in a text: the worker creates ``DATA_DIR/held`` and goes on once the test creates
  ``DATA_DIR/go`` (for example after cutting the worker's store away).

Other documents are processed as usual."""

from __future__ import annotations

import threading
from typing import Any

from ragd.ingest.pipeline import IngestService

STALL = "EMBED-STALL"
HOLD = "EMBED-HOLD"
_original = IngestService._embed_missing
_never = threading.Event()


def _stalling(self: IngestService, texts_by_hash: dict[str, str], ids_by_hash: dict[str, Any]) -> None:
    texts = list(texts_by_hash.values())
    if any(STALL in text for text in texts):
        _never.wait()  # until the process is killed
    if any(HOLD in text for text in texts):
        data_dir = self._settings.data_dir
        (data_dir / "held").touch()
        pause = threading.Event()
        while not (data_dir / "go").exists():
            pause.wait(0.05)  # until the test says go
    _original(self, texts_by_hash, ids_by_hash)


def main() -> None:
    IngestService._embed_missing = _stalling  # type: ignore[method-assign]
    from ragd.cli.main import main as ragd_main

    ragd_main()


if __name__ == "__main__":
    main()
