"""Language detection: accuracy on short queries and on chunks, speed and memory (ragd.retrieve.language).

    nice -n 19 python bench/language_detect.py [--queries 300] [--chunks 100] [--out bench/results/language_detect.json]

Samples, per language, taken offline and reproducibly (``random.Random(0)``):

* en: the questions of ../shared/evaldata/cranfield and mini-wiki (queries), cranfield passages (chunks);
* fr: the questions of ../shared/evaldata/piaf-fr (queries), its passages (chunks);
* every other language with a Debian translated-manual package installed (``apt-get install manpages-de
  manpages-es manpages-it manpages-nl manpages-pt-br manpages-pl``, /usr/share/man/LANG/man*/): prose lines of 3-12
  words (the "short query" samples) and runs of prose lines of ~800 characters (the "chunk" samples). Manual pages
  leave some paragraphs untranslated and mix command names into the prose, so a line is kept only if it has more
  of its language's stop words than English ones (the old stop-word detector as a label check) and no code-like
  characters; a few labels stay wrong, which caps the measurable accuracy below 100 %.

"accuracy": the top candidate is the right language; "sure": :func:`detect` did not answer ``"und"``; "sure and
wrong": it answered a wrong language (those are what analysis would act on). lingua-language-detector (low-accuracy
mode, the same languages) is measured too when it is importable (``pip install lingua-language-detector``), for
comparison (and the memory of its high-accuracy mode, models preloaded). Memory: the resident-set growth of loading
the detector, in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ragd.retrieve.analysis import fold, stopwords, words
from ragd.retrieve.language import SNOWBALL, UNDETERMINED, candidates, detect

EVAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "evaldata"
MAN = Path("/usr/share/man")
MAN_DIRS = {"de": "de", "es": "es", "it": "it", "nl": "nl", "pt": "pt_BR", "pl": "pl", "sv": "sv", "da": "da",
            "fi": "fi", "hu": "hu", "ro": "ro", "ru": "ru", "tr": "tr", "cs": "cs", "id": "id"}  # fmt: skip
_CODE = re.compile(r"[\[\]{}=<>/$#|]")
_ROFF_ESCAPE = re.compile(r"\\f[BIRP]|\\f\(..|\\\(..|\\[-&e|^]|\\\*\(..|\\\*.")


def _jsonl(path: Path, field: str = "text") -> list[str]:
    return [json.loads(line)[field] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _prose_lines(page: Path) -> list[str]:
    """The plain-text lines of one roff manual page (requests, comments and escapes dropped)."""
    try:
        raw = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
    except (OSError, EOFError):
        return []
    out = []
    for line in raw.splitlines():
        if not line or line[0] in ".'":
            continue
        text = _ROFF_ESCAPE.sub("", line).strip()
        letters = sum(c.isalpha() for c in text)
        if letters >= 0.8 * len(text.replace(" ", "")) and len(text.split()) >= 3 and not _CODE.search(text):
            out.append(text)
    return out


def _translated(text: str, lang: str) -> bool:
    """The label check: more of ``lang``'s stop words than English ones (drops untranslated paragraphs)."""
    ws = [fold(w) for w in words(text)]
    own, english = stopwords(lang), stopwords("en")
    return sum(w in own for w in ws) > sum(w in english for w in ws)


def man_samples(lang: str, n_queries: int, n_chunks: int, rng: random.Random) -> tuple[list[str], list[str]]:
    pages = sorted((MAN / MAN_DIRS[lang]).glob("man*/*.gz"))
    rng.shuffle(pages)
    queries: list[str] = []
    chunks: list[str] = []
    for page in pages:
        lines = [line for line in _prose_lines(page) if _translated(line, lang)]
        queries.extend(line for line in lines if 3 <= len(line.split()) <= 12)
        buf = ""
        for line in lines:
            buf = f"{buf} {line}".strip()
            if len(buf) >= 800:
                chunks.append(buf)
                buf = ""
        if len(queries) >= 5 * n_queries and len(chunks) >= 5 * n_chunks:
            break
    return rng.sample(queries, min(n_queries, len(queries))), rng.sample(chunks, min(n_chunks, len(chunks)))


def samples(n_queries: int, n_chunks: int) -> dict[str, tuple[list[str], list[str]]]:
    rng = random.Random(0)
    en_q = _jsonl(EVAL / "cranfield" / "queries.jsonl") + _jsonl(EVAL / "mini-wiki" / "queries.jsonl")
    out = {
        "en": (rng.sample(en_q, n_queries), rng.sample(_jsonl(EVAL / "cranfield" / "corpus.jsonl"), n_chunks)),
        "fr": (rng.sample(_jsonl(EVAL / "piaf-fr" / "queries.jsonl"), n_queries),
               rng.sample(_jsonl(EVAL / "piaf-fr" / "corpus.jsonl"), n_chunks)),
    }  # fmt: skip
    for lang, folder in MAN_DIRS.items():
        if (MAN / folder).is_dir() and any((MAN / folder).glob("man*/*.gz")):
            out[lang] = man_samples(lang, n_queries, n_chunks, rng)
    return out


def ours_top(text: str) -> str:
    best = candidates(text, 1)
    return best[0].code if best else UNDETERMINED


def ours_sure(text: str) -> str:
    return detect(text).code


def _lingua() -> Callable[[str], str] | None:
    try:
        from lingua import IsoCode639_1, LanguageDetectorBuilder
    except ImportError:
        return None
    codes = [getattr(IsoCode639_1, c.upper()) for c in SNOWBALL if hasattr(IsoCode639_1, c.upper())]
    det = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()

    def top(text: str) -> str:
        found = det.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found is not None else UNDETERMINED

    return top


def _score(texts: list[str], lang: str, top: Callable[[str], str], sure: Callable[[str], str] | None) -> dict:
    right = sure_n = sure_wrong = 0
    times = []
    confused: Counter[str] = Counter()
    for text in texts:
        t = time.perf_counter()
        got = top(text)
        times.append(time.perf_counter() - t)
        right += got == lang
        if got != lang:
            confused[got] += 1
        if sure is not None:
            code = sure(text)
            sure_n += code != UNDETERMINED
            sure_wrong += code not in (UNDETERMINED, lang)
    out = {"n": len(texts), "accuracy": round(right / max(len(texts), 1), 3),
           "mean_ms": round(1000 * statistics.fmean(times), 3) if times else None}  # fmt: skip
    if confused:
        out["mistaken_for"] = dict(confused.most_common(3))
    if sure is not None:
        out |= {
            "sure": round(sure_n / max(len(texts), 1), 3),
            "sure_and_wrong": round(sure_wrong / max(len(texts), 1), 3),
        }
    return out


_MEMORY = """
import sys
def rss_kb():  # current resident set (ru_maxrss is inherited from the parent across fork on Linux)
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
import numpy  # ragd loads it anyway: not the detector's cost
from ragd.retrieve.language import SNOWBALL, detect  # the model itself loads on first use
before = rss_kb()
if sys.argv[1] == "py3langid":
    detect("warm up the model")
else:
    from lingua import IsoCode639_1, LanguageDetectorBuilder
    codes = [getattr(IsoCode639_1, c.upper()) for c in SNOWBALL if hasattr(IsoCode639_1, c.upper())]
    b = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    d = (b.with_low_accuracy_mode() if sys.argv[1] == "lingua" else b.with_preloaded_language_models()).build()
    for text in ("warm up the model", "le modèle", "das Modell", "el modelo"):
        d.detect_language_of(text)
print((rss_kb() - before) / 1024)
"""


def _memory_mb(which: str) -> float:
    out = subprocess.run([sys.executable, "-c", _MEMORY, which], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip()), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--chunks", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("bench/results/language_detect.json"))
    args = ap.parse_args()
    data = samples(args.queries, args.chunks)
    t = time.perf_counter()
    detect("load the model")
    load_s = time.perf_counter() - t
    lingua = _lingua()
    result: dict = {"detector": "py3langid (ragd.retrieve.language)", "load_s": round(load_s, 3),
                    "memory_mb": _memory_mb("py3langid"), "languages": {}}  # fmt: skip
    if lingua is not None:
        result["lingua_low_accuracy_memory_mb"] = _memory_mb("lingua")
        result["lingua_high_accuracy_memory_mb"] = _memory_mb("lingua-high")
    for lang, (queries, chunks) in data.items():
        row = {
            "queries": _score(queries, lang, ours_top, ours_sure),
            "chunks": _score(chunks, lang, ours_top, ours_sure),
        }
        if lingua is not None:
            row["lingua_low_accuracy"] = {"queries": _score(queries, lang, lingua, None),
                                          "chunks": _score(chunks, lang, lingua, None)}  # fmt: skip
        result["languages"][lang] = row
        print(lang, json.dumps(row), flush=True)
    result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "languages"}))


if __name__ == "__main__":
    main()
