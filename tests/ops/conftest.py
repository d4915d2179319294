"""Fixtures for the operations tests: a small real corpus ingested once into a data directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests import backend
from tests.support import EVALDATA

from ragd.config import Settings
from ragd.core import Ragd

QUERIES = [
    "What is the capital of Uruguay?",
    "Which countries border Uruguay?",
    "Did Abraham Lincoln live in the Frontier?",
    "Uruguay football world cup",
]


def corpus(count: int, start: int = 0, per_doc: int = 3) -> list[tuple[str, bytes]]:
    """``count`` small text documents, each made of ``per_doc`` consecutive mini-wiki passages."""
    lines = (EVALDATA / "mini-wiki" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    docs = []
    for i in range(start, start + count):
        passages = [json.loads(line)["text"] for line in lines[i * per_doc : (i + 1) * per_doc]]
        docs.append((f"wiki-{i:03d}.txt", "\n\n".join(passages).encode()))
    return docs


def settings_for(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, ingest={"workers": 0})


def build(data_dir: Path, docs: list[tuple[str, bytes]]) -> list[str]:
    r = Ragd(settings_for(data_dir))
    try:
        ids = [r.submit(data, name)[0].id for name, data in docs]
        r.workers.drain()
    finally:
        r.close()
    return ids


@pytest.fixture(scope="session")
def built_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("built") / "data"
    build(data, corpus(10))
    return data


@pytest.fixture
def data_copy(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A data directory holding the corpus: a copy of ``built_data`` on SQLite (the store is a file in it); on
    PostgreSQL the corpus built afresh into the test's own store (copying a directory copies no schema)."""
    target = tmp_path / "data"
    if backend.postgresql():
        build(target, corpus(10))
    else:
        shutil.copytree(request.getfixturevalue("built_data"), target)
    return target


def ragd_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ragd.cli.main", *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return ragd_cli
