"""How much of an HTML page's text the HTML loader keeps, and how much boilerplate, against the fixtures' ground truth.

    PYTHONPATH=src .venv/bin/python bench/html_boilerplate.py [--fixtures ../shared/evaldata/fixtures]

For every ``html/*.html`` fixture that has a ``groundtruth/<name>.docling.md``: the share of the ground truth's words
the loader's text keeps (word multiset recall). Docling's ground truth keeps a web page's chrome (the language list,
categories, navigation boxes), so for the real web page (``wiki_duck.html``) two finer numbers: the article's prose
kept (ground-truth paragraphs of 12 words or more, outside lists and tables, found whole in the loader's text;
footnote marks and editors' marks such as "[citation needed]" left out of the comparison) and
the link lists kept (ground-truth list items that are only a link — languages, categories, portals — found as a
line of the loader's text): the first should stay at 100 %, the second fall.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from ragd.ingest.loaders.html import load_html

_URL = r"\((?:[^()]|\([^()]*\))*\)"  # a link's target, one level of parentheses inside
_LINK = re.compile(r"!?\[([^\]]*)\]" + _URL)
_REF = re.compile(r"\[\[[^\]]*\]\]" + _URL + r"|\[\s*\d+\s*\]|\[[a-z]\]")  # footnote marks: [[1]](#cite_note-1), [1]
_NOTE = re.compile(r"\[\s*\[[^\]]*\]" + _URL + r"\s*\]")  # editors' marks: [[citation needed](/wiki/…)]
_MARK = re.compile(r"\[[^\[\]]{1,40}\]")  # the same marks in the loader's text: [citation needed], [12]
_WORD = re.compile(r"\w+", re.UNICODE)
_LINK_ITEM = re.compile(r"^\s*(?:[-*]|\d+\.)\s+\[([^\]]+)\]" + _URL + r"\s*$")


def words(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(_LINK.sub(r"\1", text)))


def norm(text: str) -> str:
    text = _REF.sub("", _NOTE.sub("", text))
    return " ".join(_WORD.findall(_REF.sub("", _LINK.sub(r"\1", text)).lower()))


def recall(truth: Counter[str], got: Counter[str]) -> float:
    total = sum(truth.values())
    return sum((truth & got).values()) / total if total else 1.0


def page_numbers(truth_md: str, text: str) -> dict[str, float | int]:
    lines = truth_md.splitlines()
    prose = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(("-", "|", "#", "*", "!"))
             and not re.match(r"\s*\d+\.", ln) and len(_WORD.findall(_LINK.sub(r"\1", ln))) >= 12]
    flat = norm(_MARK.sub("", text))
    kept_prose = sum(1 for p in prose if norm(p) in flat)
    got_lines = {norm(ln.lstrip("-0123456789. ")) for ln in text.splitlines()}
    items = [m.group(1) for ln in lines if (m := _LINK_ITEM.match(ln))]
    kept_items = sum(1 for it in items if norm(it) in got_lines)
    return {"prose_paragraphs": len(prose), "prose_kept": round(kept_prose / max(1, len(prose)), 4),
            "link_items": len(items), "link_items_kept": round(kept_items / max(1, len(items)), 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", type=Path, default=Path(__file__).resolve().parents[2] / "shared/evaldata/fixtures")
    args = ap.parse_args()
    out: dict[str, dict[str, float | int]] = {}
    for path in sorted((args.fixtures / "html").glob("*.html")):
        truth_path = args.fixtures / "groundtruth" / f"{path.name}.docling.md"
        doc = load_html(path.read_bytes(), path.name)
        row: dict[str, float | int] = {"chars": len(doc.text)}
        if truth_path.exists():
            truth = truth_path.read_text(encoding="utf-8")
            row["word_recall"] = round(recall(words(truth), words(doc.text)), 4)
            if len(truth) > 10_000:
                row.update(page_numbers(truth, doc.text))
        out[path.name] = row
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
