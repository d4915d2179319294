"""How long ``ragd sync`` takes over a folder of small text files: the first run (files read, hashed, stored and
queued; indexing not counted), a second run over the unchanged folder (nothing read: sizes and times compared),
and a run after one file in a hundred changed. Store: ``RAGD_STORE__URL`` if set, else SQLite in a temporary
directory.

Run: ``nice -n 19 .venv/bin/python bench/sync_speed.py --files 2000`` (prints JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest.sync import FolderSync


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "share"
        for i in range(args.files):
            sub = root / f"d{i // 100}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"n{i}.txt").write_text(f"Note {i}: the depot {i % 7} opens at {i % 12} o'clock.")
        r = Ragd(Settings(data_dir=Path(tmp) / "data", ingest={"workers": 0}))
        out: dict[str, object] = {"files": args.files, "engine": r.backend.engine}
        try:
            for label in ("first_s", "unchanged_s", "one_in_100_changed_s"):
                if label == "one_in_100_changed_s":
                    for i in range(0, args.files, 100):
                        path = root / f"d{i // 100}" / f"n{i}.txt"
                        path.write_text(path.read_text() + " Changed.")
                        os.utime(path, ns=(1, 1))
                t0 = time.perf_counter()
                report = FolderSync(r, root, "bench").run()
                out[label] = round(time.perf_counter() - t0, 3)
                out[label.replace("_s", "_counts")] = report.counts()
        finally:
            r.close()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
