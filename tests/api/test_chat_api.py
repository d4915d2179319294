"""Conversations and the OpenAI-compatible API, against a real `ragd serve`."""

from __future__ import annotations

import httpx
import openai
import pytest
from tests.api.conftest import sse_events
from tests.generate.fake_openai import FakeOpenAI
from tests.support import Server

from ragd.generate.prompts import CONDENSE_PROMPT

FIRST = {"role": "user", "content": "How long do refunds take?"}


def test_conversation_round_trip(llm: httpx.Client, fake_llm: FakeOpenAI) -> None:
    r = llm.post("/api/v1/chat", json={"messages": [FIRST]})
    assert r.status_code == 200, r.text
    first = r.json()
    cid = first["conversation_id"]
    assert first["found"] and first["citations"][0]["filename"] == "policy.md" and first["message_id"]
    n = len(fake_llm.requests)
    with llm.stream("POST", "/api/v1/chat", json={
        "conversation_id": cid, "stream": True, "messages": [{"role": "user", "content": "and to which card?"}]
    }) as resp:
        assert resp.headers["x-conversation-id"] == cid
        events = list(sse_events(resp.iter_lines()))
    done = events[-1][1]
    assert [e for e, _ in events][-2:] == ["citations", "done"] and done["conversation_id"] == cid
    # the follow-up was rewritten by the model into a standalone query before retrieval
    condense, answer = fake_llm.requests[n]["body"], fake_llm.requests[n + 1]["body"]
    assert condense["messages"][0]["content"] == CONDENSE_PROMPT and "How long do refunds take?" in str(condense)
    assert done["query"] == "refund delay for the original card"
    assert [m["role"] for m in answer["messages"]] == ["system", "user", "assistant", "user"]  # history included
    detail = llm.get(f"/api/v1/conversations/{cid}").json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
    assert detail["messages"][3]["id"] == done["message_id"] and detail["messages"][3]["citations"]
    assert detail["title"] == "How long do refunds take?"
    listed = llm.get("/api/v1/conversations").json()
    assert cid in [c["id"] for c in listed["conversations"]]
    fb = llm.post("/api/v1/feedback", json={"message_id": done["message_id"], "rating": 1})
    assert fb.status_code == 201, fb.text
    assert llm.delete(f"/api/v1/conversations/{cid}").status_code == 204
    for r in (llm.get(f"/api/v1/conversations/{cid}"), llm.delete(f"/api/v1/conversations/{cid}"),
              llm.post("/api/v1/chat", json={"conversation_id": cid, "messages": [FIRST]})):
        assert r.status_code == 404 and r.json()["code"] == "conversation_not_found"


def test_chat_validation(llm: httpx.Client) -> None:
    r = llm.post("/api/v1/chat", json={"messages": [{"role": "assistant", "content": "hi"}]})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert llm.post("/api/v1/chat", json={"messages": []}).status_code == 422


def test_extractive_follow_up_borrows_the_previous_question(ext: httpx.Client) -> None:
    msgs = [FIRST, {"role": "assistant", "content": "14 days."}, {"role": "user", "content": "and shipping?"}]
    body = ext.post("/api/v1/chat", json={"messages": msgs}).json()
    assert body["query"].startswith("and shipping?") and "refunds" in body["query"]
    stored = ext.get(f"/api/v1/conversations/{body['conversation_id']}").json()["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant", "user", "assistant"]


def test_openai_sdk_streams_an_answer_with_citations(extractive_server: Server) -> None:
    client = openai.OpenAI(base_url=extractive_server.url + "/v1", api_key="any-key", max_retries=0)
    assert [m.id for m in client.models.list()] == ["ragd"]
    stream = client.chat.completions.create(model="ragd", messages=[FIRST], stream=True)  # type: ignore[list-item]
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    citations = last.citations  # type: ignore[attr-defined]
    assert citations and citations[0]["filename"] == "policy.md" and "14 days" in citations[0]["text"]
    assert "14 days" in text and "\n\nSources:\n[1] policy.md" in text
    plain = client.chat.completions.create(model="ragd", messages=[FIRST])  # type: ignore[list-item]
    assert plain.choices[0].message.content.endswith("[1] policy.md")  # type: ignore[union-attr]
    assert plain.citations[0]["filename"] == "policy.md"  # type: ignore[attr-defined]


def test_openai_endpoint_with_a_model_behind(llm_server: Server, fake_llm: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=llm_server.url + "/v1", api_key="k", max_retries=0)
    out = client.chat.completions.create(model="whatever", messages=[FIRST])  # type: ignore[list-item]
    content = out.choices[0].message.content or ""
    assert content.startswith("Refunds are paid within 14 days [") and "[99]" not in content
    assert out.usage is not None and out.usage.prompt_tokens > 0
    fake_llm.script.append({"raw": ["data: {oops"]})
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="ragd", messages=[FIRST], stream=True))  # type: ignore[list-item]


def test_any_key_is_accepted_while_auth_is_off(ext: httpx.Client) -> None:
    # With authentication on, /v1 takes ragd API keys like the rest of the API (tests/auth/test_auth_api.py).
    assert ext.get("/v1/models", headers={"Authorization": "Bearer whatever"}).status_code == 200
