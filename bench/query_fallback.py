"""Per-language analysis against the analysis before it, and the unsure query's fallback, on BM25 alone.

    nice -n 19 python bench/query_fallback.py [--datasets piaf-fr cranfield mini-wiki adi cisi medline]
        [--out bench/results/query_fallback.json]

Whole documents of ../shared/evaldata/<set> (title + text) in the in-memory BM25 index
(:class:`ragd.index.lexical.LexicalIndex`, the same scoring as the store's), nDCG@10 over the judged queries; no
chunking and no embedding model, so it isolates the analysis (``ragd eval`` measures the whole pipeline). Variants:

* ``before``: every document and query in English or French by stop-word vote, one language per query (what ragd
  did before per-language analysis; English and French are analysed byte-for-byte as then);
* ``default``: each document in its detected language, each query as :func:`ragd.retrieve.analysis.query_languages`
  says (sure: its language; unsure: English or French by stop words plus the detector's best guess, at most 2);
* ``no_guess``: unsure queries in English or French only (limit 1);
* ``three``: unsure queries in the detector's best guess, English and French (at most 3 stemmings per word).

Other languages: ``--root`` a folder of sets in the same layout, e.g. the known-item sets that
``bench/make_lang_sets.py`` builds from Debian's translated manual pages (query: a page's one-line description;
judged document: its DESCRIPTION section)::

    python bench/make_lang_sets.py --languages de es it nl pt pl --out /tmp/langsets
    nice -n 19 python bench/query_fallback.py --root /tmp/langsets --datasets manpages-de manpages-es manpages-it \
        manpages-nl manpages-pt manpages-pl --out bench/results/query_fallback_manpages.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from ragd.evaluation.metrics import ndcg_at_k
from ragd.index.lexical import LexicalIndex
from ragd.retrieve.analysis import (
    CANDIDATE_FLOOR,
    _english_or_french,
    analyze_document,
    analyze_query,
    chunk_language,
    document_language,
    query_languages,
)
from ragd.retrieve.language import UNDETERMINED, candidates, detect

EVAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "evaldata"


def _three(text: str) -> list[str]:
    found = detect(text)
    if found.code != UNDETERMINED:
        return [found.code]
    best = [c.code for c in candidates(text, 1) if c.confidence >= CANDIDATE_FLOOR]
    return list(dict.fromkeys([*best, "en", "fr"]))[:3]


QUERY: dict[str, Callable[[str], list[str]]] = {
    "before": lambda text: [_english_or_french(text)],
    "default": query_languages,
    "no_guess": lambda text: query_languages(text, limit=1),
    "three": _three,
}


def _load(name: str, root: Path = EVAL) -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    folder = root / name
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line) for line in (folder / "queries.jsonl").open(encoding="utf-8")]
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").open(encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3 and parts[0] != "query-id":
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return corpus, [q for q in queries if q["_id"] in qrels], qrels


def _index(corpus: list[dict], before: bool) -> LexicalIndex:
    idx = LexicalIndex()
    for seq, doc in enumerate(corpus):
        text = f"{doc.get('title', '')}\n{doc['text']}".strip()
        lang = _english_or_french(text) if before else chunk_language(text, document_language(text))
        idx.add(seq, " ".join(analyze_document(text, lang)))
    return idx


def run(name: str, root: Path = EVAL) -> dict[str, float]:
    corpus, queries, qrels = _load(name, root)
    indexes = {True: _index(corpus, True), False: _index(corpus, False)}
    out = {}
    for variant, langs in QUERY.items():
        idx = indexes[variant == "before"]
        scores = []
        for q in queries:
            hits = idx.search(analyze_query(q["text"], langs(q["text"])), 10)
            scores.append(ndcg_at_k([corpus[seq]["_id"] for seq, _ in hits], qrels[q["_id"]]))
        out[variant] = round(sum(scores) / len(scores), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["piaf-fr", "cranfield", "mini-wiki"])
    ap.add_argument("--root", type=Path, default=EVAL, help="folder of the BEIR-layout sets")
    ap.add_argument("--out", type=Path, default=Path("bench/results/query_fallback.json"))
    args = ap.parse_args()
    result = {}
    for name in args.datasets:
        result[name] = run(name, args.root)
        print(name, json.dumps(result[name]), flush=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
