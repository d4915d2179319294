"""PDF tables (issue 18, part 3): quality against the fixtures' ground truth, and the PDF loader's speed before
(a ref, main by default) and after (this tree), in the same run.

    nice -n 19 python bench/pdf_tables.py [--ref main] [--rounds 3] [--out bench/results/pdf_tables.json]

Quality: each ground-truth table (Markdown tables of the docling ``*.docling.md`` files, the CSV of
nics-checks-last-five-years) is "found" when one detected table of the same PDF holds at least half of its
non-empty cells in the same row; cell accuracy is the share of ground-truth cells found in the same row of some
detected table (best-matching row). Cells compare after lower-casing and dropping spaces and thousands commas.
Extra tables are detections in PDFs whose ground truth has none.

Speed: pages per CPU second of ``load_pdf`` alone over every PDF of fixtures/pdf and fixtures/pdf-fr that has a
text layer, each version in its own subprocess, rounds alternated, best round kept. CPU time is the figure of
record (the machine is shared, so wall time varies with the neighbours' load); wall time is reported too.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import EVALDATA, REPO_ROOT

FIXTURES = EVALDATA / "fixtures"
GROUNDTRUTH = FIXTURES / "groundtruth"
RESULTS = Path(__file__).resolve().parent / "results"
# PDF -> ground truth; a docling file whose Markdown has no table counts detections as extra.
DOCLING = (
    "2305.03393v1-pg9",
    "normal_4pages",
    "redp5110_sampled",
    "table_mislabeled_as_picture",
    "amt_handbook_sample",
    "multi_page",
    "code_and_formula",
    "right_to_left_01",
)

Table = list[list[str]]


def norm(cell: str) -> str:
    return "".join(cell.lower().replace(",", "").split())


def markdown_tables(text: str) -> list[Table]:
    tables: list[Table] = []
    current: Table = []
    for line in [*text.splitlines(), ""]:
        line = line.strip()
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                current.append(cells)
            continue
        if current:
            tables.append(current)
            current = []
    return tables


def ground_truth() -> dict[str, list[Table]]:
    truth = {f"pdf/{name}.pdf": markdown_tables((GROUNDTRUTH / f"{name}.docling.md").read_text()) for name in DOCLING}
    with (GROUNDTRUTH / "nics-checks-last-five-years.csv").open() as f:
        rows = list(csv.reader(f))
    # One table per month (a page of the PDF); the month column is not printed in the PDF's rows.
    months: dict[str, Table] = {}
    for row in rows[1:]:
        months.setdefault(row[0], []).append(row[1:])
    truth["pdf/nics-checks-last-five-years.pdf"] = list(months.values())
    return truth


def detected_tables(path: Path) -> list[Table]:
    from ragd.ingest.loaders.pdf import load_pdf

    doc = load_pdf(path.read_bytes(), path.name)
    tables = []
    for block in doc.blocks:
        if block.kind == "table":
            lines = block.text.splitlines()
            tables.append([[c.strip() for c in line.strip("|").split("|")] for line in [lines[0], *lines[2:]]])
    return tables


def score(truth: list[Table], found: list[Table]) -> dict[str, int]:
    rows = [{norm(c) for c in r if norm(c)} for t in found for r in t]
    by_cell: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        for c in r:
            by_cell.setdefault(c, []).append(i)
    out = {"expected": len(truth), "found": 0, "cells": 0, "cells_found": 0}
    for table in truth:
        hit = total = 0
        for row in table:
            cells = {norm(c) for c in row if norm(c)}
            rare = min(cells, key=lambda c: len(by_cell.get(c, ())), default=None)
            candidates = set(by_cell.get(rare, ())) if rare else set()
            for c in cells:
                candidates.update(by_cell.get(c, ())[:50])
            best = max((len(cells & rows[i]) for i in candidates), default=0)
            hit += best
            total += len(cells)
        out["cells"] += total
        out["cells_found"] += hit
        out["found"] += int(total > 0 and hit >= 0.5 * total)
    return out


def quality() -> dict[str, object]:
    per_doc = {}
    totals = {"expected": 0, "found": 0, "cells": 0, "cells_found": 0, "extra": 0}
    for rel, truth in ground_truth().items():
        found = detected_tables(FIXTURES / rel)
        s = score(truth, found)
        s["detected"] = len(found)
        s["extra"] = len(found) if not truth else 0
        per_doc[rel] = s
        for k in totals:
            totals[k] += s[k]
    totals["cell_accuracy"] = round(totals["cells_found"] / max(1, totals["cells"]), 3)
    return {"total": totals, "documents": per_doc}


TIMER = """
import json, sys, time, pathlib
from ragd.errors import DocumentError
from ragd.ingest.loaders.pdf import load_pdf
pages, per_file = 0, {}
files = [pathlib.Path(p) for p in sys.argv[1:]]
data = [(f.name, f.read_bytes()) for f in files]
t0, c0 = time.perf_counter(), time.process_time()
for name, blob in data:
    c = time.process_time()
    try:
        pages += load_pdf(blob, name).pages or 0
    except DocumentError:
        pass
    per_file[name] = time.process_time() - c
print(pages, time.process_time() - c0, time.perf_counter() - t0, json.dumps(per_file))
"""


def text_pdfs() -> list[Path]:
    from ragd.errors import DocumentError
    from ragd.ingest.loaders.pdf import load_pdf

    keep = []
    for path in sorted([*(FIXTURES / "pdf").glob("*.pdf"), *(FIXTURES / "pdf-fr").glob("*.pdf")]):
        try:
            load_pdf(path.read_bytes(), path.name)
        except DocumentError:
            continue
        keep.append(path)
    return keep


def timed(src: Path, files: list[Path]) -> tuple[int, float, float, dict[str, float]]:
    """Pages, CPU seconds, wall seconds and CPU seconds per file of one pass of the loader at ``src``."""
    out = subprocess.run(
        [sys.executable, "-c", TIMER, *map(str, files)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split(maxsplit=3)
    return int(out[0]), float(out[1]), float(out[2]), json.loads(out[3])


def speed(ref: str, rounds: int) -> dict[str, object]:
    files = text_pdfs()
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", ref, "src"], cwd=REPO_ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        before_src, after_src = Path(tmp) / "src", REPO_ROOT / "src"
        before, after = [], []
        for _ in range(rounds):
            before.append(timed(before_src, files))
            after.append(timed(after_src, files))
    pages = before[0][0]
    b, a = min(r[1] for r in before), min(r[1] for r in after)
    bw, aw = min(r[2] for r in before), min(r[2] for r in after)
    per_file = {f.name: [round(min(r[3][f.name] for r in runs), 3) for runs in (before, after)] for f in files}
    # The PDFs with no table found keep today's output: their own slowdown is the cost of looking.
    plain = [f.name for f in files if not detected_tables(f)]
    pb, pa = sum(per_file[n][0] for n in plain), sum(per_file[n][1] for n in plain)
    return {
        "ref": ref,
        "files": [str(f.relative_to(FIXTURES)) for f in files],
        "pages": pages,
        "before_cpu_s": round(b, 3),
        "after_cpu_s": round(a, 3),
        "before_pages_per_cpu_s": round(pages / b, 1),
        "after_pages_per_cpu_s": round(pages / a, 1),
        "slowdown_cpu": round(a / b, 3),
        "before_wall_s": round(bw, 3),
        "after_wall_s": round(aw, 3),
        "slowdown_wall": round(aw / bw, 3),
        "without_tables": {
            "files": plain,
            "before_cpu_s": round(pb, 3),
            "after_cpu_s": round(pa, 3),
            "slowdown_cpu": round(pa / pb, 3),
        },
        "per_file_cpu_s_before_after": per_file,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default="main", help="git ref of the 'before' loader")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "pdf_tables.json")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    started = time.time()
    result: dict[str, object] = {"quality": quality()}
    if not args.skip_speed:
        result["speed"] = speed(args.ref, args.rounds)
    result["bench_s"] = round(time.time() - started, 1)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "quality"} | {"quality": result["quality"]["total"]}))


if __name__ == "__main__":
    main()
