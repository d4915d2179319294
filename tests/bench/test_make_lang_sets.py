"""bench/make_lang_sets.py on a tiny man-page tree written here: a German known-item set in the BEIR layout."""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

from tests.support import REPO

from ragd.evaluation.beir import load_beir

sys.path.insert(0, str(REPO / "bench"))

import make_lang_sets

LS = r""".\" generated with po4a
.TH LS 1 "September 2022" "GNU coreutils 9.1"
.SH BEZEICHNUNG
ls \- Verzeichnisinhalte auflisten
.SH ÜBERSICHT
\fBls\fP [\fI\,OPTION\/\fP]…
.SH BESCHREIBUNG
.PP
Auflistung von Informationen \(:uber die DATEIen (Standardvorgabe ist das aktuelle Verzeichnis). Die Einträge
werden alphabetisch sortiert, falls weder \fB\-cftuvSUX\fP noch
.B \-\-sort
angegeben wurden.
"""
CP = LS.replace("ls \\- Verzeichnisinhalte auflisten", "cp \\- Dateien und Verzeichnisse kopieren").replace(
    "Auflistung von", "Kopiert die Quelle zum Ziel oder mehrere Quellen in ein Verzeichnis, mit"
)
VERBATIM = LS.replace("ls \\- Verzeichnisinhalte auflisten", "dir \\- Informationen \\(:uber die DATEIen").replace(
    "Auflistung von", "Ausgabe von"
)
ALIAS = ".so man1/ls.1\n"
NO_DESCRIPTION = ".TH X 1\n.SH BEZEICHNUNG\nx \\- etwas tun\n.SH OPTIONEN\nviele Optionen hier\n"


def _tree(root: Path) -> Path:
    man1 = root / "de" / "man1"
    man1.mkdir(parents=True)
    for name, text in {"ls.1": LS, "cp.1": CP, "dir.1": VERBATIM, "vdir.1": ALIAS, "x.1": NO_DESCRIPTION}.items():
        (man1 / f"{name}.gz").write_bytes(gzip.compress(text.encode()))
    return root


def test_parse_page_reads_name_and_description() -> None:
    query, text = make_lang_sets.parse_page(LS, "de") or ("", "")
    assert query == "Verzeichnisinhalte auflisten"
    assert text.startswith("Auflistung von Informationen über die DATEIen")
    assert "-cftuvSUX noch --sort angegeben" in text and "\\f" not in text and "PP" not in text
    assert make_lang_sets.parse_page(ALIAS, "de") is None
    assert make_lang_sets.parse_page(NO_DESCRIPTION, "de") is None


def test_builds_a_beir_set_without_aliases_missing_sections_or_verbatim_queries(tmp_path: Path) -> None:
    root = _tree(tmp_path / "man")
    args = argparse.Namespace(min_words=5, max_words=300, keep_verbatim=False, every=1, max_docs=100)
    assert make_lang_sets.build("de", tmp_path / "out", args, root) == 2
    ds = load_beir(tmp_path / "out" / "manpages-de")
    assert set(ds.corpus) == {"cp.1", "ls.1"}
    assert ds.queries == {"q-cp.1": "Dateien und Verzeichnisse kopieren", "q-ls.1": "Verzeichnisinhalte auflisten"}
    assert ds.qrels == {"q-cp.1": {"cp.1": 1}, "q-ls.1": {"ls.1": 1}}
    assert all(doc.title == "" for doc in ds.corpus.values())  # the page name would give the answer away
    # kept on request: the page whose query its own description repeats
    args.keep_verbatim = True
    assert make_lang_sets.build("de", tmp_path / "all", args, root) == 3
