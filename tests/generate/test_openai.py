"""The openai generator against a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tests.generate.fake_openai import FakeOpenAI
from tests.generate.helpers import llm_settings, retrieval

from ragd.errors import LLMBadResponse, LLMTimeout, LLMUnavailable
from ragd.generate.base import Answer, ChatMessage, Token
from ragd.generate.openai import OpenAIGenerator, backoff_seconds, retry_after_seconds

PASSAGES = ("Refunds are paid within 14 days.", "Shipping is free above 50 euros.")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI({"text": "Refunds take 14 days [1]. Free shipping [2][8]."}) as f:
        yield f


def gen(fake: FakeOpenAI, **kw: object) -> OpenAIGenerator:
    return OpenAIGenerator(llm_settings(base_url=fake.url, api_key="sk-test", seed=7, **kw))


def test_plain_answer_with_checked_citations(fake: FakeOpenAI) -> None:
    ans = gen(fake).answer("refund delay?", retrieval(*PASSAGES))
    assert ans.found and ans.text == "Refunds take 14 days [1]. Free shipping [2]."
    assert [c.text for c in ans.citations] == list(PASSAGES)
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["headers"]["Authorization"] == "Bearer sk-test"
    body = req["body"]
    assert body["model"] == "fake-model" and body["seed"] == 7 and body["max_tokens"] == 64 and body["stream"]
    assert body["messages"][0]["role"] == "system" and "<source id=\"2\"" in body["messages"][-1]["content"]


def test_streamed_tokens_then_answer(fake: FakeOpenAI) -> None:
    events = list(gen(fake).stream("refund delay?", retrieval(*PASSAGES)))
    tokens = [e.text for e in events if isinstance(e, Token)]
    final = events[-1]
    assert isinstance(final, Answer) and len(tokens) > 3
    assert "".join(tokens) == final.text  # the invalid [8] never reached the stream
    assert final.completion_tokens > 3 and final.prompt_tokens > 0 and "first_token" in final.timings_ms


def test_nothing_retrieved_means_no_model_call(fake: FakeOpenAI) -> None:
    ans = gen(fake).answer("q", retrieval())
    assert not ans.found and fake.requests == []


def test_429_then_success_honours_retry_after(fake: FakeOpenAI) -> None:
    fake.script.extend([{"status": 429, "headers": {"Retry-After": "1"}}, {"status": 503}])
    t0 = time.monotonic()
    ans = gen(fake).answer("q", retrieval(*PASSAGES))
    assert ans.found and len(fake.requests) == 3
    assert fake.times[1] - fake.times[0] >= 0.9  # waited as told
    assert time.monotonic() - t0 < 5


def test_retries_exhausted(fake: FakeOpenAI) -> None:
    fake.script.extend([{"status": 500, "headers": {"Retry-After": "0"}}] * 3)
    with pytest.raises(LLMUnavailable, match="500 after 3 attempts"):
        gen(fake).answer("q", retrieval(*PASSAGES))


def test_client_error_is_not_retried(fake: FakeOpenAI) -> None:
    fake.script.append({"status": 401, "body": {"error": {"message": "bad key"}}})
    with pytest.raises(LLMBadResponse, match="bad key"):
        gen(fake).answer("q", retrieval(*PASSAGES))
    assert len(fake.requests) == 1


def test_timeout(fake: FakeOpenAI) -> None:
    fake.script.append({"sleep": 1.5, "text": "late [1]"})
    t0 = time.monotonic()
    with pytest.raises(LLMTimeout) as err:
        gen(fake, timeout=0.4).answer("q", retrieval(*PASSAGES))
    assert err.value.status == 504 and time.monotonic() - t0 < 1.4


def test_malformed_chunk(fake: FakeOpenAI) -> None:
    fake.script.append({"raw": ['data: {"choices": [{"delta": {"content": "Hi [1]"}}]}', "data: {not json"]})
    events = gen(fake).stream("q", retrieval(*PASSAGES))
    assert isinstance(next(events), Token)
    with pytest.raises(LLMBadResponse) as err:
        list(events)
    assert err.value.status == 502 and err.value.code == "llm_bad_response"


def test_error_chunk_and_unreachable_server(fake: FakeOpenAI) -> None:
    fake.script.append({"raw": ['data: {"error": {"message": "overloaded"}}']})
    with pytest.raises(LLMBadResponse, match="overloaded"):
        gen(fake).answer("q", retrieval(*PASSAGES))
    dead = OpenAIGenerator(llm_settings(base_url="http://127.0.0.1:9/v1", max_retries=1))
    with pytest.raises(LLMUnavailable):
        dead.answer("q", retrieval(*PASSAGES))


def test_closing_the_stream_stops_reading_upstream(fake: FakeOpenAI) -> None:
    fake.default = {"text": "word " * 400, "piece": 5, "delay": 0.01}
    events = gen(fake).stream("q", retrieval(*PASSAGES))
    assert isinstance(next(events), Token)
    events.close()
    deadline = time.monotonic() + 5
    while not fake.streams_aborted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.streams_aborted and fake.streams_aborted[0] < 400 and fake.streams_finished == 0


def test_standalone_query_is_rewritten_by_the_model(fake: FakeOpenAI) -> None:
    fake.script.append({"text": '"When was ACME founded?"\nextra'})
    g = gen(fake)
    msgs = [ChatMessage("user", "Who founded ACME?"), ChatMessage("assistant", "Jane [1]."),
            ChatMessage("user", "When?")]
    assert g.standalone_query(msgs) == "When was ACME founded?"
    sent = fake.requests[0]["body"]
    assert not sent["stream"] and "Who founded ACME?" in sent["messages"][-1]["content"]
    assert g.standalone_query([ChatMessage("user", "Only one")]) == "Only one" and len(fake.requests) == 1


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("2") == 2.0 and retry_after_seconds("999") == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert 0.25 <= backoff_seconds(0) <= 0.5 and 2.0 <= backoff_seconds(3) <= 4.0 and backoff_seconds(9) <= 8.0
