"""The compatibility routes (issue 17, docs/migrating.md) against a real `ragd serve`: the old deployments' calls
answered by the native routes' code, hidden from OpenAPI, marked deprecated, and bad input refused with 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from tests.api.conftest import upload_docs
from tests.generate.fake_openai import FakeOpenAI
from tests.support import Server

from ragd.api.app import create_app
from ragd.config import Settings

COMPAT_PATHS = ("/health", "/ready", "/auth/login", "/documents/upload", "/documents/upload/bulk", "/chat/query",
                "/chat", "/conversations/{conversation_id}")
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("compat") / "data", {"RAGD_METRICS__COMPAT_NAMES": "true"}).start()
    with s.client() as c:
        upload_docs(s, c)
    yield s
    s.stop()


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_compat_routes_are_hidden_from_the_openapi_document() -> None:
    paths = create_app(Settings()).openapi()["paths"]
    assert not set(COMPAT_PATHS) & set(paths)
    assert all(p.startswith(("/api/v1/", "/v1/")) or p == "/metrics" for p in paths)


def test_probes_answer_as_the_native_routes_and_name_them(http: httpx.Client) -> None:
    for old, native in (("/health", "/api/v1/health"), ("/ready", "/api/v1/ready")):
        r, n = http.get(old), http.get(native)
        assert r.status_code == n.status_code == 200, r.text
        assert r.json().keys() == n.json().keys() and r.json()["status"] == n.json()["status"]
        assert r.headers["deprecation"].startswith("@")
        assert r.headers["link"] == f'<{native}>; rel="successor-version"'
        assert "deprecation" not in n.headers
    # errors carry the headers too (their handlers run inside the route)
    r = http.post("/chat/query", json={})
    assert r.status_code == 422 and r.headers["link"] == '</api/v1/query>; rel="successor-version"'


def test_uploads_single_and_bulk(server: Server, http: httpx.Client) -> None:
    one = http.post("/documents/upload", files=[("file", ("compat-one.txt", b"Compat upload one: lanterns."))])
    bulk = http.post("/documents/upload/bulk", data={"collection": "compat"}, files=[
        ("files", ("compat-two.txt", b"Compat upload two: kettles.")),
        ("files[]", ("compat-three.md", b"# Three\n\nCompat upload three: ladders.")),
        ("file", ("compat-four.txt", b"Compat upload four: ropes."))])
    assert one.status_code == bulk.status_code == 201, (one.text, bulk.text)
    assert one.headers["link"] == '</api/v1/documents/upload>; rel="successor-version"'
    docs = [*one.json()["documents"], *bulk.json()["documents"]]
    assert [d["filename"] for d in docs] == ["compat-one.txt", "compat-two.txt", "compat-three.md", "compat-four.txt"]
    assert {d["collection"] for d in docs[1:]} == {"compat"}
    done = server.wait_done(http, [d["id"] for d in docs], timeout=120)
    assert {d["status"] for d in done.values()} == {"indexed"}


def test_chat_query_takes_limit_as_top_k(http: httpx.Client) -> None:
    native = http.post("/api/v1/query", json={"query": "refund policy", "top_k": 2}).json()
    for body in ({"query": "refund policy", "limit": 2}, {"query": "refund policy", "limit": 2, "top_k": 2}):
        r = http.post("/chat/query", json=body)
        assert r.status_code == 200, r.text
        got = r.json()
        assert len(got["results"]) == 2 and got["answer"] == native["answer"]
        assert [x["chunk_id"] for x in got["results"]] == [x["chunk_id"] for x in native["results"]]
    default = http.post("/api/v1/query", json={"query": "refund policy"}).json()["results"]
    assert len(http.post("/chat/query", json={"query": "refund policy", "limit": None}).json()["results"]) == len(
        default)  # null: as if absent
    r = http.post("/chat/query", json={"query": "refund policy", "limit": 2, "top_k": 3})
    assert r.status_code == 422 and r.json()["code"] == "conflicting_parameters", r.text
    for limit in (0, 101, "5", 2.5, True):
        r = http.post("/chat/query", json={"query": "refund policy", "limit": limit})
        n = http.post("/api/v1/query", json={"query": "refund policy", "top_k": limit})
        assert r.status_code == n.status_code == 422, (limit, r.text)
        assert r.json()["code"] == n.json()["code"] == "validation_error"


def _chat(http: httpx.Client, messages: list[dict[str, str]], cid: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": messages}
    if cid is not None:
        body["conversation_id"] = cid
    r = http.post("/chat", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_chat_with_a_client_conversation_id(http: httpx.Client) -> None:
    earlier = [{"role": "user", "content": "Do you ship abroad?"}, {"role": "assistant", "content": "Yes."}]
    first = _chat(http, [*earlier, {"role": "user", "content": "How long do refunds take?"}], "filagent-test-1")
    assert first["status"] == "success" and first["conversation_id"] == "filagent-test-1"
    assert first["choices"][0]["message"]["role"] == "assistant"
    assert first["choices"][0]["message"]["content"].startswith(first["answer"])
    assert "policy.md" in first["choices"][0]["message"]["content"]  # the sources, as footnotes
    usage = first["usage"]
    assert usage == {"prompt_tokens": 0, "completion_tokens": usage["completion_tokens"],
                     "total_tokens": usage["completion_tokens"]}  # extractive: no prompt
    for field in ("message_id", "answer", "found", "citations", "query", "results", "model", "timings_ms"):
        assert field in first, field  # ragd's own chat fields
    # the second turn: the stored history counts, the earlier messages sent again are not stored twice
    second = _chat(http, [*earlier, {"role": "user", "content": "And shipping?"}], "filagent-test-1")
    assert second["ragd_conversation_id"] == first["ragd_conversation_id"]
    conv = http.get("/conversations/filagent-test-1")
    assert conv.status_code == 200, conv.text
    got = conv.json()
    assert got["id"] == "filagent-test-1" and got["title"] == "How long do refunds take?"
    assert [m["content"] for m in got["messages"]][:4] == [
        "Do you ship abroad?", "Yes.", "How long do refunds take?", first["answer"]]
    assert [m["role"] for m in got["messages"]] == ["user", "assistant", "user", "assistant", "user", "assistant"]
    # the same conversation on the native routes, under ragd's id
    native = http.get(f"/api/v1/conversations/{first['ragd_conversation_id']}").json()
    assert [m["id"] for m in native["messages"]] == [m["id"] for m in got["messages"]]
    follow = http.post("/api/v1/chat", json={"conversation_id": first["ragd_conversation_id"],
                                             "messages": [{"role": "user", "content": "Thanks"}]})
    assert follow.status_code == 200, follow.text
    assert len(http.get("/conversations/filagent-test-1").json()["messages"]) == 8


def test_chat_without_an_id_gets_one_it_can_continue(http: httpx.Client) -> None:
    first = _chat(http, [{"role": "user", "content": "How long do refunds take?"}])
    cid = first["conversation_id"]
    _chat(http, [{"role": "user", "content": "And shipping?"}], cid)
    assert len(http.get(f"/conversations/{cid}").json()["messages"]) == 4


def test_chat_reports_the_models_token_usage(llm_server: Server, fake_llm: FakeOpenAI) -> None:
    fake_llm.script.clear()
    with llm_server.client() as c:
        r = c.post("/chat", json={"messages": [{"role": "user", "content": "How long do refunds take?"}],
                                  "conversation_id": "usage-1"})
    assert r.status_code == 200, r.text
    usage = r.json()["usage"]  # what the model backend reports, as /v1/chat/completions does
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_questions_of_every_route_are_counted_in_results_per_query(server: Server, http: httpx.Client) -> None:
    def counts() -> dict[tuple[str, tuple], float]:
        return _samples(http.get("/metrics").text)

    before = counts()
    key = ("rag_query_results_count_count", (("search_type", "hybrid"),))
    one = [{"role": "user", "content": "refunds?"}]
    for method, path, body in (("POST", "/api/v1/query", {"query": "refunds", "top_k": 2}),
                               ("POST", "/chat/query", {"query": "refunds", "limit": 2}),
                               ("POST", "/api/v1/chat", {"messages": one}),
                               ("POST", "/chat", {"messages": one}),
                               ("POST", "/v1/chat/completions", {"messages": one})):
        assert http.request(method, path, json=body).status_code == 200, path
    after = counts()
    assert after[key] - before.get(key, 0) == 5
    summed = ("rag_query_results_count_sum", (("search_type", "hybrid"),))
    assert after[summed] - before.get(summed, 0) >= 2 + 2 + 3  # two limited searches, at least one more passage
    text = http.get("/metrics").text
    for name in ("filagent_requests_total", "filagent_request_duration_seconds", "filagent_tokens_used_total"):
        assert name in text, name
    route = ("method", "POST"), ("route", "/chat/query"), ("status", "200")
    assert after[("filagent_requests_total", route)] == after[("rag_requests_total", route)] >= 1


CID_BAD = ("", " ", "bad id", "-starts-with-dash", "a" * 129, "../etc", "é", "x/y", "semi;colon")


def _bad_requests() -> list[tuple[str, str, dict[str, Any], int, str]]:
    msg = [{"role": "user", "content": "refunds?"}]
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("POST", "/chat/query", {"json": {}}, 422, "validation_error"),
        ("POST", "/chat/query", {"json": {"query": ""}}, 422, "validation_error"),
        ("POST", "/chat/query", {"json": {"query": "x", "limits": 3}}, 422, "validation_error"),
        ("POST", "/chat/query", {"json": {"query": "x", "limit": 2, "top_k": 5}}, 422, "conflicting_parameters"),
        ("POST", "/chat/query", {"json": {"query": "x", "limit": -1}}, 422, "validation_error"),
        ("POST", "/chat/query", {"json": {"query": "x", "limit": 10**30}}, 422, "validation_error"),
        ("POST", "/chat/query", {"json": {"query": "x", "filters": {"file_types": ["exe"]}}}, 400, "invalid_filter"),
        ("POST", "/chat/query", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422,
         "validation_error"),
        ("POST", "/chat/query", {"json": ["query"]}, 422, "validation_error"),
        ("POST", "/chat", {"json": {}}, 422, "validation_error"),
        ("POST", "/chat", {"json": {"messages": []}}, 422, "validation_error"),
        ("POST", "/chat", {"json": {"messages": [{"role": "assistant", "content": "hi"}]}}, 422,
         "validation_error"),
        ("POST", "/chat", {"json": {"messages": [{"role": "tool", "content": "x"}]}}, 422, "validation_error"),
        ("POST", "/chat", {"json": {"messages": msg, "conversation_id": 12}}, 422, "validation_error"),
        ("POST", "/chat", {"json": {"messages": msg, "stream": True}}, 422, "validation_error"),
        ("POST", "/chat", {"json": {"messages": msg, "top_k": 0}}, 422, "validation_error"),
        ("POST", "/chat", {"json": {"messages": msg * 60}}, 422, "input_too_long"),
        ("POST", "/chat", {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}}, 422,
         "validation_error"),
        ("GET", "/conversations/never-used", {}, 404, "conversation_not_found"),
        ("GET", "/chat", {}, 405, "method_not_allowed"),
        ("POST", "/auth/login", {"json": {}}, 422, "validation_error"),
        ("POST", "/auth/login", {"json": {"username": "ab", "password": "x"}}, 422, "validation_error"),
        ("POST", "/auth/login", {"json": {"username": "nobody@example.org", "password": "x", "extra": 1}}, 422,
         "validation_error"),
        ("POST", "/auth/login", {"data": {"username": "nobody@example.org"}}, 422, "validation_error"),
        ("POST", "/auth/login", {"content": b"{", "headers": {"content-type": "application/json"}}, 422,
         "validation_error"),
        ("POST", "/auth/login", {"content": b"\x00\xff", "headers": {"content-type": "text/plain"}}, 422,
         "validation_error"),
        ("POST", "/auth/login", {"data": {"username": "nobody@example.org", "password": "wrong"}}, 401,
         "invalid_credentials"),
        ("POST", "/auth/login", {"content": b"x", "headers": {"content-type": "multipart/form-data"}}, 400,
         "bad_request"),
        ("POST", "/auth/login", {"content": b"%zz=&&=", "headers": {
            "content-type": "application/x-www-form-urlencoded"}}, 422, "validation_error"),
    ]
    for path in ("/documents/upload", "/documents/upload/bulk"):
        cases += [
            ("POST", path, {"json": {"file": "x"}}, 422, "validation_error"),
            ("POST", path, {"files": [("attachment", ("a.txt", b"text"))]}, 422, "validation_error"),
            ("POST", path, {"files": [("files", ("a.exe", b"MZ\x90\x00" + b"\x00" * 200))]}, 415,
             "unsupported_media_type"),
            ("POST", path, {"files": [("file", ("a.txt", b"text"))], "data": {"metadata": "[1]"}}, 400,
             "bad_request"),
            ("POST", path, {"files": [("file", ("a.txt", b"text"))], "data": {"collection": "bad/name"}}, 422,
             "validation_error"),
        ]
    for cid in CID_BAD:
        cases.append(("POST", "/chat", {"json": {"messages": msg, "conversation_id": cid}}, 422, "validation_error"))
    return cases


@pytest.mark.parametrize("method,path,kwargs,status,code", _bad_requests())
def test_bad_input_is_a_4xx_with_a_stable_code(http: httpx.Client, method: str, path: str, kwargs: dict[str, Any],
                                               status: int, code: str) -> None:
    r = http.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM) and r.json()["code"] == code, r.text


@pytest.mark.parametrize("cid", ["bad%20id", "-x", "a" * 129, "%C3%A9", "x%3By"])
def test_bad_conversation_ids_in_the_path(http: httpx.Client, cid: str) -> None:
    r = http.get(f"/conversations/{cid}")
    assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
    assert "conversation id" in r.json()["detail"]


SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=30))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
FIELDS = {"/chat/query": ("query", "limit", "top_k", "filters", "mode", "answer"),
          "/chat": ("messages", "conversation_id", "top_k", "filters", "stream"),
          "/auth/login": ("username", "password")}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(sorted(FIELDS)), data=st.data())
def test_arbitrary_json_is_never_a_server_error(server: Server, path: str, data: st.DataObject) -> None:
    body = data.draw(st.one_of(JSON, st.dictionaries(st.sampled_from(FIELDS[path]), JSON, max_size=4)))
    with server.client() as c:
        r = c.post(path, json=body)
    assert r.status_code < 500, (body, r.text)
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith(PROBLEM) and r.json()["code"], r.text
