import json
from pathlib import Path

import pytest

from ragd.errors import BadRequest
from ragd.evaluation.beir import InvalidDataset, load_beir

EVALDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "evaldata"


def test_loads_adi() -> None:
    ds = load_beir(EVALDATA / "adi")
    assert ds.name == "adi"
    assert len(ds.corpus) == 82
    assert len(ds.queries) == 35
    assert sum(len(j) for j in ds.qrels.values()) == 170
    assert ds.qa == []
    doc = ds.corpus["1"]
    assert doc.full_text == f"{doc.title} {doc.text}"


def test_only_judged_queries_count_on_cisi() -> None:
    ds = load_beir(EVALDATA / "cisi")
    assert len(ds.queries) == 112
    assert len(ds.judged_queries) == 76
    assert set(ds.judged_queries) == set(ds.qrels)


def test_loads_qa_on_piaf() -> None:
    ds = load_beir(EVALDATA / "piaf-fr")
    assert len(ds.qa) == 2017
    item = ds.qa[0]
    assert item.question == ds.queries[item.id]
    assert item.answers and all(isinstance(a, str) for a in item.answers)
    assert all(g in ds.corpus for g in item.gold)


def _write(root: Path, corpus: str, queries: str, qrels: str, qa: str | None = None) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    (root / "queries.jsonl").write_text(queries, encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    if qa is not None:
        (root / "qa.jsonl").write_text(qa, encoding="utf-8")
    return root


CORPUS = '{"_id": "d1", "title": "", "text": "one"}\n\n{"_id": 2, "title": "T", "text": "two"}\n'
QUERIES = '{"_id": "q1", "text": "first"}\n{"_id": "q2", "text": "second"}\n'
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\t2\t0\n"


def test_small_folder(tmp_path: Path) -> None:
    qa = json.dumps({"_id": "q1", "question": "first", "answers": ["one", 1], "gold": ["d1"]}) + "\n"
    ds = load_beir(_write(tmp_path / "set", CORPUS, QUERIES, QRELS, qa))
    assert ds.corpus["d1"].full_text == "one"
    assert ds.corpus["2"].full_text == "T two"
    assert ds.qrels == {"q1": {"d1": 2, "2": 0}}
    assert ds.judged_queries == {"q1": "first"}
    assert ds.qa[0].answers == ["one", "1"]
    assert ds.qa[0].gold == ["d1"]


@pytest.mark.parametrize(
    ("corpus", "queries", "qrels", "message"),
    [
        ('{"_id": "d1", "text": "x"}\n{oops\n', QUERIES, QRELS, "corpus.jsonl:2: not valid JSON"),
        ('["d1"]\n', QUERIES, QRELS, "corpus.jsonl:1: expected a JSON object"),
        ('{"title": "t", "text": "x"}\n', QUERIES, QRELS, "corpus.jsonl:1: missing field '_id'"),
        ('{"_id": "d1"}\n', QUERIES, QRELS, "missing field 'text'"),
        ('{"_id": "d1", "text": 3}\n', QUERIES, QRELS, "field 'text' must be a string"),
        (CORPUS + '{"_id": "d1", "text": "again"}\n', QUERIES, QRELS, "duplicate _id 'd1'"),
        (CORPUS, '{"_id": "q1"}\n', QRELS, "queries.jsonl:1: missing field 'text'"),
        (CORPUS, QUERIES, "h\th\th\nq1 d1 1\n", "test.tsv:2: expected 3 tab-separated fields, got 1"),
        (CORPUS, QUERIES, "h\th\th\nq1\td1\thigh\n", "test.tsv:2: score 'high' is not an integer"),
    ],
)
def test_malformed_lines(tmp_path: Path, corpus: str, queries: str, qrels: str, message: str) -> None:
    with pytest.raises(InvalidDataset) as err:
        load_beir(_write(tmp_path / "set", corpus, queries, qrels))
    assert message in err.value.detail


def test_malformed_qa(tmp_path: Path) -> None:
    qa = '{"_id": "q1", "question": "q", "answers": "one"}\n'
    with pytest.raises(InvalidDataset, match="answers"):
        load_beir(_write(tmp_path / "set", CORPUS, QUERIES, QRELS, qa))


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataset, match="not a directory"):
        load_beir(tmp_path / "absent")
    root = _write(tmp_path / "set", CORPUS, QUERIES, QRELS)
    (root / "qrels" / "test.tsv").unlink()
    with pytest.raises(InvalidDataset, match=r"missing file .*test\.tsv") as err:
        load_beir(root)
    assert isinstance(err.value, BadRequest)
    assert err.value.status == 400
    assert err.value.code == "invalid_dataset"
    assert err.value.to_problem()["code"] == "invalid_dataset"
