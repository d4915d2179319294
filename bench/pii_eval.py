"""Precision, recall and F1 of ragd's PII detectors on bench/data/pii_labelled.jsonl (see bench/make_pii_set.py).

Usage: ``python bench/pii_eval.py [--data …] [--out bench/results/pii.json] [--errors]``.

Two matching rules, per kind and overall (micro-averaged):

* exact: a predicted span counts when a gold span has the same kind, start and end;
* overlap: when it overlaps a gold span of the same kind (each gold span matched at most once).

Reported separately for the "dev" half (even ids: the sentence templates used while improving the detectors), the
held-out "test" half (odd ids: templates never looked at) and both. ``--errors`` prints every miss and false alarm
of the dev half (the test half's errors are deliberately not printed).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts src/ on sys.path)

from ragd.privacy import KINDS, find_pii

HERE = Path(__file__).resolve().parent
Span = tuple[str, int, int]


def _match(gold: list[Span], pred: list[Span], overlap: bool) -> tuple[int, list[Span], list[Span]]:
    """(true positives, false positives, false negatives) for one text."""
    unused = list(gold)
    fps: list[Span] = []
    tp = 0
    for p in pred:
        hit = next((g for g in unused if g[0] == p[0] and (
            (g[1] < p[2] and p[1] < g[2]) if overlap else (g[1], g[2]) == (p[1], p[2]))), None)
        if hit is None:
            fps.append(p)
        else:
            unused.remove(hit)
            tp += 1
    return tp, fps, unused


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn,
            "support": tp + fn}


def evaluate(rows: list[dict[str, Any]], overlap: bool) -> tuple[dict[str, Any], list[tuple[int, str, Span, str]]]:
    counts = {k: [0, 0, 0] for k in KINDS}
    errors: list[tuple[int, str, Span, str]] = []
    for row in rows:
        text = row["text"]
        gold = [(s["kind"], s["start"], s["end"]) for s in row["spans"]]
        pred = [(m.kind, m.start, m.end) for m in find_pii(text)]
        _, fps, fns = _match(gold, pred, overlap)
        for kind in KINDS:
            g = [s for s in gold if s[0] == kind]
            p = [s for s in pred if s[0] == kind]
            tp, _, _ = _match(g, p, overlap)
            counts[kind][0] += tp
            counts[kind][1] += len(p) - tp
            counts[kind][2] += len(g) - tp
        errors += [(row["id"], "false alarm", s, text[s[1]:s[2]]) for s in fps]
        errors += [(row["id"], "miss", s, text[s[1]:s[2]]) for s in fns]
    per_kind = {k: _prf(*c) for k, c in counts.items()}
    tot = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {"overall": _prf(*tot), "per_kind": per_kind}, errors


def table(results: dict[str, Any]) -> str:
    lines = ["| split | match | kind | precision | recall | F1 | gold | TP | FP | FN |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for split, by_rule in results.items():
        for rule, res in by_rule.items():
            for kind, m in [*res["per_kind"].items(), ("**all**", res["overall"])]:
                lines.append(f"| {split} | {rule} | {kind} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} "
                             f"| {m['support']} | {m['tp']} | {m['fp']} | {m['fn']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=HERE / "data" / "pii_labelled.jsonl")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "pii.json")
    ap.add_argument("--errors", action="store_true", help="print the dev half's misses and false alarms")
    ap.add_argument("--regions", default="FR,GB,US", help="phone region hints for the speed run (default: ragd's)")
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    splits = {"dev": [r for r in rows if r["split"] == "dev"], "test": [r for r in rows if r["split"] == "test"],
              "all": rows}
    results: dict[str, Any] = {}
    for name, part in splits.items():
        results[name] = {}
        for rule in ("exact", "overlap"):
            results[name][rule], errors = evaluate(part, overlap=rule == "overlap")
            if args.errors and name == "dev" and rule == "exact":
                for rid, what, span, frag in errors:
                    print(f"#{rid} {what}: {span[0]} {frag!r}")
    chars = sum(len(r["text"]) for r in rows)
    regions = tuple(args.regions.split(","))
    t0 = time.perf_counter()
    for _ in range(5):
        for r in rows:
            find_pii(r["text"], regions=regions)
    per_mb = (time.perf_counter() - t0) / 5 / chars * 1e6
    print(table(results))
    print(f"\n{len(rows)} records ({len(splits['dev'])} dev, {len(splits['test'])} test), {chars} characters; "
          f"find_pii (phone regions {','.join(regions)}): {per_mb:.2f} s per million characters on this machine")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "data": str(args.data.relative_to(HERE.parent)), "records": len(rows), "characters": chars,
        "seconds_per_million_chars": round(per_mb, 3), "speed_regions": list(regions),
        "python": platform.python_version(), "results": results,
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
