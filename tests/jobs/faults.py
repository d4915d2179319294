"""``python -m tests.jobs.faults worker …``: ``ragd worker`` with a fault installed first, as when a model server
the pipeline calls is down. A document whose text holds a marker fails in its embedding step with a
``ConnectionError`` (a transient failure, retried with backoff):

* ``EMBED-DOWN``: every attempt fails (the job ends failed after ``ingest.max_attempts``);
* ``EMBED-FLAKY-<n>``: the first ``n`` attempts in this process fail, the next ones succeed.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

from ragd.ingest.pipeline import IngestService

_FLAKY = re.compile(r"EMBED-FLAKY-(\d+)")
_calls: Counter[str] = Counter()
_lock = threading.Lock()
_original = IngestService._embed_missing


def _faulty(self: IngestService, texts_by_hash: dict[str, str], ids_by_hash: dict[str, Any]) -> None:
    for text in texts_by_hash.values():
        if "EMBED-DOWN" in text:
            raise ConnectionError("the embedding server refused the connection (EMBED-DOWN)")
        m = _FLAKY.search(text)
        if m:
            with _lock:
                _calls[m.group(0)] += 1
                n = _calls[m.group(0)]
            if n <= int(m.group(1)):
                raise ConnectionError(f"the embedding server refused the connection (call {n})")
    _original(self, texts_by_hash, ids_by_hash)


def main() -> None:
    IngestService._embed_missing = _faulty  # type: ignore[method-assign]
    from ragd.cli.main import main as ragd_main

    ragd_main()


if __name__ == "__main__":
    main()
