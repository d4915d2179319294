"""Judged known-item retrieval sets in languages other than English and French, from translated Debian man pages.

Built offline from the installed ``manpages-LANG`` packages (``apt-get install manpages-de manpages-es``), written
in the BEIR layout ``ragd eval`` and ``bench/multilingual.py`` read, into a directory outside the repo::

    python bench/make_lang_sets.py --languages de es --out /work/langsets

One set per language, ``OUT/manpages-LANG``. For every page of ``/usr/share/man/LANG/man[1-8]``:

- query: the page's one-line description, the NAME section after ``\\-`` ("ls \\- Verzeichnisinhalte auflisten"
  gives "Verzeichnisinhalte auflisten"); the command name itself is not part of the query;
- judged document (relevance 1, the only one): that page's DESCRIPTION section as plain text (roff requests and
  font escapes removed), its first ``--max-words`` words; no title (the page name would give the answer away);
- corpus: every kept page of the language.

Dropped: ``.so`` redirects, pages without both sections, descriptions under ``--min-words`` words, queries under 2
words, a query or a document text that repeats another page's (aliases, shared descriptions: the judgement would
be ambiguous) and, unless ``--keep-verbatim``, pages whose query appears verbatim (case-folded) in their document
(a trivial match). Pages are taken in sorted path order, then every ``--every``-th kept page up to ``--max-docs``,
so a set is reproducible from the same package versions (recorded in ``OUT/manpages-LANG/PROVENANCE.json``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAN_ROOT = Path("/usr/share/man")

#: The DESCRIPTION heading as the translators wrote it, per ISO 639-1 code (upper-cased, accents kept).
DESCRIPTION_HEADINGS: dict[str, frozenset[str]] = {
    "de": frozenset({"BESCHREIBUNG"}),
    "es": frozenset({"DESCRIPCIÓN", "DESCRIPCION"}),
    "it": frozenset({"DESCRIZIONE"}),
    "nl": frozenset({"BESCHRIJVING", "OMSCHRIJVING"}),
    "pt": frozenset({"DESCRIÇÃO", "DESCRICAO"}),
    "pt_BR": frozenset({"DESCRIÇÃO", "DESCRICAO"}),
    "pl": frozenset({"OPIS"}),
    "fr": frozenset({"DESCRIPTION"}),
}
PACKAGE = {"pt_BR": "manpages-pt-br"}

_FONT = re.compile(r"\\f(?:\[[^\]]*\]|\([A-Za-z0-9]{2}|[A-Za-z0-9])")
_NAMED = {"\\(em": "—", "\\(en": "–", "\\(aq": "'", "\\(dq": '"', "\\(lq": "“", "\\(rq": "”", "\\(bu": "•"}
_ACCENTED = re.compile(r"\\\(([:'`^~,])([A-Za-z])")
_MARKS = {":": "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", ",": "\u0327"}
_OTHER_ESCAPE = re.compile(r"\\(?:s[+-]?\d+|\*(?:\(..|\[[^\]]*\]|.)|\$\*|\([A-Za-z0-9]{2}|\[[^\]]*\]|[&/,|^%:~0 ])")


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    query: str
    text: str


def roff_to_text(line: str) -> str:
    """One line of roff source as plain text: font escapes and zero-width escapes removed, ``\\-`` → ``-``."""
    line = _FONT.sub("", line)
    for escape, char in _NAMED.items():
        line = line.replace(escape, char)
    line = line.replace("\\*(Aq", "'").replace("\\(ss", "ß")
    line = _ACCENTED.sub(lambda m: unicodedata.normalize("NFC", m.group(2) + _MARKS[m.group(1)]), line)
    line = line.replace("\\-", "-").replace("\\e", "\\")
    return _OTHER_ESCAPE.sub("", line)


def _request_text(line: str) -> str:
    """The text a font request carries (``.B word``, ``.BR a b``, ``.IP "x"``…), else ``""``."""
    name, _, rest = line[1:].partition(" ")
    if name in {"B", "I", "BI", "IB", "BR", "RB", "IR", "RI", "SM", "SB"}:
        words = re.findall(r'"[^"]*"|\S+', rest)
        joiner = "" if len(name) == 2 and name not in {"SM", "SB"} else " "
        return roff_to_text(joiner.join(w.strip('"') for w in words))
    return ""


def sections(source: str) -> list[tuple[str, list[str]]]:
    """``(heading, text lines)`` for every ``.SH`` section, in order; comments and layout requests dropped."""
    out: list[tuple[str, list[str]]] = []
    for raw in source.splitlines():
        line = raw.rstrip()
        if line.startswith(('.\\"', "'\\\"")) or line == ".":
            continue
        if line.startswith(".SH"):
            out.append((roff_to_text(line[3:].strip().strip('"')).upper(), []))
            continue
        if not out:
            continue
        text = _request_text(line) if line.startswith((".", "'")) else roff_to_text(line)
        if text.strip():
            out[-1][1].append(text.strip())
    return out


def parse_page(source: str, language: str) -> tuple[str, str] | None:
    """``(one-line description, DESCRIPTION text)`` of a man page's source, or ``None`` when either is missing."""
    if source.lstrip().startswith(".so "):
        return None
    secs = sections(source)
    if not secs:
        return None
    name = " ".join(secs[0][1])
    _, sep, desc = name.partition(" - ")
    if not sep:
        return None
    headings = DESCRIPTION_HEADINGS.get(language, frozenset({"DESCRIPTION"}))
    body = next((lines for heading, lines in secs if heading in headings), None)
    if not body:
        return None
    return " ".join(desc.split()), " ".join(" ".join(body).split())


def read_source(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def collect(
    files: Iterable[tuple[str, str]],
    language: str,
    *,
    min_words: int = 20,
    max_words: int = 300,
    keep_verbatim: bool = False,
) -> Iterator[Page]:
    """Known-item pages from ``(page id, roff source)`` pairs, applying the filters of the module docstring."""
    seen_queries: dict[str, int] = {}
    seen_texts: dict[str, int] = {}
    parsed: list[tuple[str, str, str]] = []
    for page_id, source in files:
        found = parse_page(source, language)
        if found is None:
            continue
        query, text = found
        words = text.split()
        if len(words) < min_words or len(query.split()) < 2:
            continue
        text = " ".join(words[:max_words])
        parsed.append((page_id, query, text))
        seen_queries[query.casefold()] = seen_queries.get(query.casefold(), 0) + 1
        seen_texts[text] = seen_texts.get(text, 0) + 1
    for page_id, query, text in parsed:
        if seen_queries[query.casefold()] > 1 or seen_texts[text] > 1:
            continue
        if not keep_verbatim and query.casefold() in text.casefold():
            continue
        yield Page(page_id, query, text)


def man_files(language: str, root: Path = MAN_ROOT) -> list[tuple[str, str]]:
    """``(id, source)`` of every page installed for ``language``, in sorted path order (id: ``ls.1``)."""
    base = root / language
    paths = sorted(p for p in base.glob("man[1-8]/*") if p.is_file())
    return [(p.name.removesuffix(".gz"), read_source(p)) for p in paths]


def write_set(pages: list[Page], out: Path, provenance: dict[str, object]) -> None:
    """The BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv (one relevant page per query)."""
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for p in pages:
            f.write(json.dumps({"_id": p.id, "title": "", "text": p.text}, ensure_ascii=False) + "\n")
    with (out / "queries.jsonl").open("w", encoding="utf-8") as f:
        for p in pages:
            f.write(json.dumps({"_id": f"q-{p.id}", "text": p.query}, ensure_ascii=False) + "\n")
    with (out / "qrels" / "test.tsv").open("w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for p in pages:
            f.write(f"q-{p.id}\t{p.id}\t1\n")
    (out / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2, ensure_ascii=False) + "\n", "utf-8")


def package_version(package: str) -> str:
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return "unknown"
    return done.stdout.strip() or "not installed"


def build(language: str, out: Path, args: argparse.Namespace, root: Path = MAN_ROOT) -> int:
    pages = list(
        collect(
            man_files(language, root),
            language,
            min_words=args.min_words,
            max_words=args.max_words,
            keep_verbatim=args.keep_verbatim,
        )
    )
    pages = pages[:: args.every][: args.max_docs]
    package = PACKAGE.get(language, f"manpages-{language}")
    write_set(
        pages,
        out / f"manpages-{language}",
        {
            "source": f"{root}/{language}/man[1-8] from the Debian package {package}",
            "package_version": package_version(package),
            "language": language.split("_")[0],
            "pages": len(pages),
            "built_by": "bench/make_lang_sets.py " + " ".join(sys.argv[1:]),
        },
    )
    return len(pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", nargs="+", default=["de", "es"])
    parser.add_argument("--out", type=Path, required=True, help="a directory outside the repo")
    parser.add_argument("--man-root", type=Path, default=MAN_ROOT)
    parser.add_argument("--min-words", type=int, default=20)
    parser.add_argument("--max-words", type=int, default=300)
    parser.add_argument("--max-docs", type=int, default=1000)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--keep-verbatim", action="store_true")
    args = parser.parse_args(argv)
    for language in args.languages:
        n = build(language, args.out, args, args.man_root)
        print(f"manpages-{language}: {n} pages -> {args.out / f'manpages-{language}'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
