"""Streamed answers keep the connection alive while the model is slow: ``: ping`` comments go out before the first
token (RAGD_SERVER__SSE_PING_SECONDS), and the events themselves are unchanged (issue 14)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from tests.api.conftest import answer_from_sources, sse_events, upload_docs
from tests.generate.fake_openai import FakeOpenAI
from tests.support import Server

PINGS_WANTED = 3


@pytest.fixture(scope="module")
def slow_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(answer_from_sources) as f:
        yield f


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, slow_llm: FakeOpenAI) -> Iterator[Server]:
    env = {"RAGD_LLM__BACKEND": "openai", "RAGD_LLM__BASE_URL": slow_llm.url, "RAGD_LLM__MODEL": "fake-model",
           "RAGD_LLM__TIMEOUT": "120", "RAGD_LLM__MAX_RETRIES": "1", "RAGD_SERVER__SSE_PING_SECONDS": "0.2"}
    s = Server(tmp_path_factory.mktemp("sse") / "data", env).start()
    with s.client() as c:
        upload_docs(s, c)
    yield s
    s.stop()


def _held_answer(slow_llm: FakeOpenAI) -> threading.Event:
    """The next model call waits until the returned event is set, then answers citing the refund passage."""
    release = threading.Event()

    def answer(body: dict) -> dict:
        return {**answer_from_sources(body), "wait": release}

    slow_llm.default = answer
    return release


def _read_until_pings(lines: Iterator[str], release: threading.Event) -> list[str]:
    """Lines up to the first event; releases the model once PINGS_WANTED pings came."""
    seen: list[str] = []
    for line in lines:
        seen.append(line)
        if line.startswith(("event:", "data:")):
            break
        if sum(s == ": ping" for s in seen) >= PINGS_WANTED:
            release.set()
    return seen


def test_pings_before_the_first_token_then_the_same_events(server: Server, slow_llm: FakeOpenAI) -> None:
    release = _held_answer(slow_llm)
    try:
        with server.client() as c, c.stream("POST", "/api/v1/query", json={"query": "How long do refunds take?",
                                                                           "stream": True}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            head = _read_until_pings(lines, release)
            rest = list(lines)
    finally:
        release.set()
    assert head.count(": ping") >= PINGS_WANTED and head[-1] == "event: token", head
    events = list(sse_events(iter(head[-1:] + rest)))
    names = [e for e, _ in events]
    assert names[-2:] == ["citations", "done"] and set(names[:-2]) == {"token"}
    text = "".join(d["text"] for e, d in events if e == "token")
    assert text == events[-2][1]["answer"] and "14 days" in text


def test_openai_compatible_stream_pings_too(server: Server, slow_llm: FakeOpenAI) -> None:
    release = _held_answer(slow_llm)
    body = {"model": "ragd", "stream": True, "messages": [{"role": "user", "content": "How long do refunds take?"}]}
    try:
        with server.client() as c, c.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            head = _read_until_pings(lines, release)
            rest = [line for line in lines if line]
    finally:
        release.set()
    assert head.count(": ping") >= PINGS_WANTED and head[-1].startswith("data: {"), head
    chunks = [json.loads(line[6:]) for line in [head[-1], *rest] if line.startswith("data: {")]
    assert rest[-1] == "data: [DONE]" and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "14 days" in "".join(ch["choices"][0]["delta"].get("content", "") for ch in chunks)

