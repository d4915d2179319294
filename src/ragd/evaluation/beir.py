"""Load a BEIR-layout evaluation folder.

Layout (the one BEIR, ir-measures and pytrec_eval read)::

    DATASET_DIR/
      corpus.jsonl      {"_id", "title", "text"} per line
      queries.jsonl     {"_id", "text"} per line; optional "language" (ISO 639-1) for per-language results
      qrels/test.tsv    query-id <TAB> corpus-id <TAB> score, header line first
      qa.jsonl          optional: {"_id", "question", "answers": [...], "gold": [corpus ids]}

Only judged queries count: :attr:`BeirDataset.judged_queries` keeps the queries that have at least one qrels
line (a query judged only with score 0 is still judged: it has no relevant document and scores 0).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragd.errors import BadRequest

__all__ = ["BeirDataset", "CorpusDoc", "InvalidDataset", "QAItem", "load_beir"]


class InvalidDataset(BadRequest):
    """A BEIR folder is missing a file or has a malformed line; ``detail`` names the file and line."""

    code, title = "invalid_dataset", "Invalid evaluation dataset"


@dataclass(frozen=True, slots=True)
class CorpusDoc:
    id: str
    title: str
    text: str

    @property
    def full_text(self) -> str:
        """Title and text joined by a space (the title alone or the text alone when the other is empty)."""
        return f"{self.title} {self.text}".strip() if self.title else self.text


@dataclass(frozen=True, slots=True)
class QAItem:
    id: str
    question: str
    answers: list[str]
    gold: list[str] = field(default_factory=list)


@dataclass(slots=True)
class BeirDataset:
    name: str
    corpus: dict[str, CorpusDoc]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    qa: list[QAItem] = field(default_factory=list)
    query_languages: dict[str, str] = field(default_factory=dict)
    """The ``language`` field of the queries that have one (ISO 639-1)."""

    @property
    def judged_queries(self) -> dict[str, str]:
        """The queries that have qrels, in the order of queries.jsonl."""
        return {qid: text for qid, text in self.queries.items() if qid in self.qrels}


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidDataset(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise InvalidDataset(f"{path}:{lineno}: expected a JSON object")
            yield lineno, obj


def _str_field(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidDataset(f"{where}: missing field {key!r}")
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and key == "_id":
        return str(value)
    if not isinstance(value, str):
        raise InvalidDataset(f"{where}: field {key!r} must be a string")
    return value


def _str_list(obj: dict[str, Any], key: str, where: str) -> list[str]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise InvalidDataset(f"{where}: field {key!r} must be a list of strings")
    return [str(v) for v in value]


def _require(path: Path) -> Path:
    if not path.is_file():
        raise InvalidDataset(f"missing file {path}")
    return path


def load_corpus(path: Path) -> dict[str, CorpusDoc]:
    corpus: dict[str, CorpusDoc] = {}
    for lineno, obj in _jsonl(_require(path)):
        where = f"{path}:{lineno}"
        doc_id = _str_field(obj, "_id", where)
        if doc_id in corpus:
            raise InvalidDataset(f"{where}: duplicate _id {doc_id!r}")
        corpus[doc_id] = CorpusDoc(
            doc_id, _str_field(obj, "title", where, required=False), _str_field(obj, "text", where)
        )
    return corpus


def load_queries(path: Path, languages: dict[str, str] | None = None) -> dict[str, str]:
    """Query id → text; the optional ``language`` field of each query goes into ``languages`` when given."""
    queries: dict[str, str] = {}
    for lineno, obj in _jsonl(_require(path)):
        where = f"{path}:{lineno}"
        qid = _str_field(obj, "_id", where)
        queries[qid] = _str_field(obj, "text", where)
        language = _str_field(obj, "language", where, required=False)
        if language and languages is not None:
            languages[qid] = language
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with _require(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1 or not line.strip():
                continue  # header line
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != 3:
                raise InvalidDataset(f"{path}:{lineno}: expected 3 tab-separated fields, got {len(parts)}")
            qid, doc_id, score = parts
            try:
                rel = int(score)
            except ValueError as exc:
                raise InvalidDataset(f"{path}:{lineno}: score {score!r} is not an integer") from exc
            qrels.setdefault(qid, {})[doc_id] = rel
    return qrels


def load_qa(path: Path) -> list[QAItem]:
    items: list[QAItem] = []
    for lineno, obj in _jsonl(path):
        where = f"{path}:{lineno}"
        items.append(
            QAItem(
                id=_str_field(obj, "_id", where),
                question=_str_field(obj, "question", where),
                answers=_str_list(obj, "answers", where),
                gold=_str_list(obj, "gold", where),
            )
        )
    return items


def load_beir(directory: str | Path, *, split: str = "test") -> BeirDataset:
    """Read a BEIR folder; raise :class:`InvalidDataset` for a missing file or a malformed line."""
    root = Path(directory)
    if not root.is_dir():
        raise InvalidDataset(f"not a directory: {root}")
    corpus = load_corpus(root / "corpus.jsonl")
    languages: dict[str, str] = {}
    queries = load_queries(root / "queries.jsonl", languages)
    qrels = load_qrels(root / "qrels" / f"{split}.tsv")
    qa_path = root / "qa.jsonl"
    qa = load_qa(qa_path) if qa_path.is_file() else []
    return BeirDataset(
        name=root.resolve().name, corpus=corpus, queries=queries, qrels=qrels, qa=qa, query_languages=languages
    )
