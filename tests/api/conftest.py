"""Servers for the answer-generation API tests: a real `ragd serve` whose LLM is a fake OpenAI-compatible server
running in the test process, and one with the default extractive generator."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.generate.fake_openai import FakeOpenAI
from tests.generate.helpers import INJECTION
from tests.support import Server

from ragd.generate.base import NO_ANSWER
from ragd.generate.prompts import CONDENSE_PROMPT

SOURCE = re.compile(r'<source id="(\d+)"[^>]*>\n(.*?)\n</source>', re.S)
DOCS = {
    "policy.md": "# Refund policy\n\nRefunds are paid within 14 days of the request. The refund goes back to the "
    "original card.\n",
    "shipping.md": "# Shipping\n\nShipping is free for orders above 50 euros. Parcels arrive in 3 days.\n",
    "notes.txt": f"Customer notes about refunds and the refund policy.\n\n{INJECTION}\n",
}


def answer_from_sources(body: dict[str, Any]) -> dict[str, Any]:
    """A stand-in model: cites the source that states the refund delay, plus one invalid marker."""
    if body["messages"][0]["content"] == CONDENSE_PROMPT:
        return {"text": "refund delay for the original card"}
    for n, text in SOURCE.findall(body["messages"][-1]["content"]):
        if "14 days" in text:
            return {"text": f"Refunds are paid within 14 days [{n}]. See also [99].", "piece": 6}
    return {"text": NO_ANSWER}


def upload_docs(server: Server, client: httpx.Client) -> None:
    files = [("file", (name, text.encode())) for name, text in DOCS.items()]
    r = client.post("/api/v1/documents/upload", files=files)
    assert r.status_code == 201, r.text
    ids = [d["id"] for d in r.json()["documents"]]
    docs = server.wait_done(client, ids, timeout=120)
    assert all(d["status"] == "indexed" for d in docs.values()), docs


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    event = None
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event:
            yield event, json.loads(line[5:])
            event = None


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(answer_from_sources) as f:
        yield f


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeOpenAI) -> Iterator[Server]:
    env = {"RAGD_LLM__BACKEND": "openai", "RAGD_LLM__BASE_URL": fake_llm.url, "RAGD_LLM__MODEL": "fake-model",
           "RAGD_LLM__TIMEOUT": "2", "RAGD_LLM__MAX_RETRIES": "1"}
    s = Server(tmp_path_factory.mktemp("llm") / "data", env).start()
    with s.client() as c:
        upload_docs(s, c)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def extractive_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("extractive") / "data", {}).start()
    with s.client() as c:
        upload_docs(s, c)
    yield s
    s.stop()


@pytest.fixture
def llm(llm_server: Server, fake_llm: FakeOpenAI) -> Iterator[httpx.Client]:
    fake_llm.script.clear()
    with llm_server.client() as c:
        yield c


@pytest.fixture
def ext(extractive_server: Server) -> Iterator[httpx.Client]:
    with extractive_server.client() as c:
        yield c
