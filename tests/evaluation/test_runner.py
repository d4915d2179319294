"""Per-language results of ``ragd eval``: a set mixing English and German questions, through the real ingestion
and retrieval paths (the run's store)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.backend import store_url_for

from ragd.config import Settings
from ragd.core import Ragd
from ragd.evaluation.beir import load_beir
from ragd.evaluation.runner import ingest_dataset, per_language, query_languages, score_queries

CORPUS = {
    "tides": "Ocean tides rise and fall twice a day, pulled by the gravity of the moon and the sun.",
    "bread": "Sourdough bread rises slowly: wild yeast ferments the dough overnight before baking.",
    "ls": "Das Programm listet die Dateien eines Verzeichnisses auf, alphabetisch sortiert.",
    "cp": "Das Programm kopiert Dateien und Verzeichnisse an einen anderen Ort.",
}
QUERIES = [
    {"_id": "q1", "text": "why do the tides rise twice a day"},
    {"_id": "q2", "text": "how is the sourdough bread made"},
    {"_id": "q3", "text": "Welches Programm kopiert die Dateien?"},
    {"_id": "q4", "text": "Verzeichnisinhalte auflisten", "language": "de"},  # no stop word: given
]
QRELS = {"q1": "tides", "q2": "bread", "q3": "cp", "q4": "ls"}


@pytest.fixture
def mixed_set(tmp_path: Path) -> Path:
    root = tmp_path / "mixed"
    (root / "qrels").mkdir(parents=True)
    lines = (json.dumps({"_id": k, "title": "", "text": v}) for k, v in CORPUS.items())
    (root / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in QUERIES) + "\n", encoding="utf-8")
    rows = "".join(f"{q}\t{d}\t1\n" for q, d in QRELS.items())
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows, encoding="utf-8")
    return root


@pytest.fixture
def ragd(tmp_path: Path) -> Iterator[Ragd]:
    data = tmp_path / "data"
    r = Ragd(Settings(data_dir=data, store={"url": store_url_for(data)}, ingest={"workers": 0}))
    try:
        yield r
    finally:
        r.close()


def test_each_query_has_a_language_given_or_detected(mixed_set: Path) -> None:
    ds = load_beir(mixed_set)
    assert ds.query_languages == {"q4": "de"}
    assert query_languages(ds.queries, ds.query_languages) == {"q1": "en", "q2": "en", "q3": "de", "q4": "de"}


def test_eval_reports_each_language_of_a_mixed_set(ragd: Ragd, mixed_set: Path) -> None:
    ds = load_beir(mixed_set)
    ids = ingest_dataset(ragd, ds, "eval")
    languages = query_languages(ds.queries, ds.query_languages)
    row = score_queries(ragd, ds.queries, ds.qrels, mode="hybrid", top_k=10, ids=ids, languages=languages)
    assert set(row["by_language"]) == {"de", "en"}
    assert row["by_language"]["en"]["queries"] == 2 and row["by_language"]["de"]["queries"] == 2
    for metrics in row["by_language"].values():
        assert 0.0 <= metrics["ndcg@10"] <= 1.0 and "recall@10" in metrics
    # the whole is the query-weighted mean of the parts
    mean = sum(m["ndcg@10"] * m["queries"] for m in row["by_language"].values()) / row["queries"]
    assert row["ndcg@10"] == pytest.approx(mean, abs=1e-3)
    # one language: no breakdown
    english = {q: t for q, t in ds.queries.items() if languages[q] == "en"}
    assert "by_language" not in score_queries(ragd, english, ds.qrels, mode="bm25", ids=ids, languages=languages)


def test_per_language_scores_each_group_alone() -> None:
    run = {"a": ["d1"], "b": ["d9"], "c": ["d3"]}
    judged = {"a": {"d1": 1}, "b": {"d2": 1}, "c": {"d3": 1}}
    out = per_language(run, judged, {"a": "en", "b": "de"})
    assert out["en"]["ndcg@10"] == 1.0 and out["de"]["ndcg@10"] == 0.0 and out["und"]["queries"] == 1
