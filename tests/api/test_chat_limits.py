"""Chat requests are bounded (ragd.api.limits.check_chat, settings limits.chat_*): the number of messages, the
characters of one message and of all of them; beyond, 422 input_too_long at once, naming the setting — both on
/api/v1/chat and on the OpenAI-compatible /v1/chat/completions (text content or content parts)."""

from __future__ import annotations

import time

import httpx
import pytest

ROUTES = ("/api/v1/chat", "/v1/chat/completions")


def assert_too_long(r: httpx.Response, setting: str) -> None:
    assert r.status_code == 422, r.text[:300]
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "input_too_long" and setting in body["detail"], body


@pytest.mark.parametrize("route", ROUTES)
def test_one_huge_message_is_refused_at_once(ext: httpx.Client, route: str) -> None:
    t0 = time.monotonic()
    r = ext.post(route, json={"messages": [{"role": "user", "content": "refund policy " * 70_000}]})  # 980 kB
    # past the schema's ceiling (20,000 characters): the schema refuses it before any work
    assert r.status_code == 422 and r.json()["code"] in ("validation_error", "input_too_long"), r.text[:300]
    assert time.monotonic() - t0 < 30


@pytest.mark.parametrize("route", ROUTES)
def test_many_messages_are_refused(ext: httpx.Client, route: str) -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(51)]
    assert_too_long(ext.post(route, json={"messages": messages}), "RAGD_LIMITS__CHAT_MAX_MESSAGES")


@pytest.mark.parametrize("route", ROUTES)
def test_the_total_of_the_messages_is_bounded(ext: httpx.Client, route: str) -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": "refund " * 2_800} for i in range(3)]
    assert_too_long(ext.post(route, json={"messages": messages}), "RAGD_LIMITS__CHAT_MAX_TOTAL_CHARS")


def test_content_parts_count_too(ext: httpx.Client) -> None:
    parts = [{"type": "text", "text": "refund " * 1_000} for _ in range(10)]  # 70,000 characters in one message
    r = ext.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": parts}]})
    assert_too_long(r, "RAGD_LIMITS__CHAT_MAX_MESSAGE_CHARS")


@pytest.mark.parametrize("route", ROUTES)
def test_a_conversation_within_the_limits_is_answered(ext: httpx.Client, route: str) -> None:
    messages = [{"role": "user", "content": "What is the refund policy?"}, {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "How many days " + "please " * 1000}]
    r = ext.post(route, json={"messages": messages})
    assert r.status_code == 200, r.text[:300]
