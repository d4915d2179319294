"""The rerank adapters against real HTTP servers on 127.0.0.1 speaking the TEI and Cohere rerank APIs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ragd.config import RerankSettings
from ragd.errors import ConfigurationError
from ragd.retrieve.rerank import RerankUnavailable, create_reranker, rerank_order

Reply = Callable[[str, dict[str, Any]], tuple[int, Any]]


def _overlap(query: str, text: str) -> float:
    q = set(query.lower().split())
    return len(q & set(text.lower().split())) / (1 + len(text.split()))


def tei_reply(path: str, body: dict[str, Any]) -> tuple[int, Any]:
    assert path == "/rerank"
    scored = [{"index": i, "score": _overlap(body["query"], t)} for i, t in enumerate(body["texts"])]
    return 200, sorted(scored, key=lambda d: -d["score"])  # TEI answers best first


def cohere_reply(path: str, body: dict[str, Any]) -> tuple[int, Any]:
    assert path == "/v1/rerank" and body["top_n"] == len(body["documents"])
    scored = [{"index": i, "relevance_score": _overlap(body["query"], t)} for i, t in enumerate(body["documents"])]
    return 200, {"results": sorted(scored, key=lambda d: -d["relevance_score"])}


class FakeRerank:
    def __init__(self, reply: Reply) -> None:
        self.reply, self.requests = reply, []  # type: ignore[var-annotated]
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.requests.append({"path": self.path, "body": body, "auth": self.headers.get("authorization")})
                status, payload = fake.reply(self.path, body)
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def fake() -> Iterator[Callable[[Reply], FakeRerank]]:
    made: list[FakeRerank] = []

    def make(reply: Reply) -> FakeRerank:
        made.append(FakeRerank(reply))
        return made[-1]

    yield make
    for f in made:
        f.server.shutdown()


TEXTS = ["the weather in Paris", "refund policy: refunds are paid in 14 days", "shipping is free"]


@pytest.mark.parametrize(("backend", "reply"), [("tei", tei_reply), ("cohere", cohere_reply)])
def test_scores_align_with_the_texts_given(fake, backend: str, reply: Reply) -> None:  # type: ignore[no-untyped-def]
    server = fake(reply)
    r = create_reranker(RerankSettings(backend=backend, url=server.url, model="m", api_key="k-123"))
    assert r is not None
    scores = r.scores("how are refunds paid", TEXTS)
    assert rerank_order(scores)[0] == 1
    assert server.requests[0]["auth"] == "Bearer k-123"
    if backend == "cohere":
        assert server.requests[0]["body"]["model"] == "m"
    r.close()


@pytest.mark.parametrize("reply", [
    lambda p, b: (503, {"error": "loading"}),
    lambda p, b: (200, b"not json"),
    lambda p, b: (200, [{"index": 0, "score": 1.0}]),  # does not score every text
    lambda p, b: (200, [{"index": 7, "score": 1.0}, {"index": 1, "score": 0.5}, {"index": 2, "score": 0.1}]),
    lambda p, b: (200, {"unexpected": True}),
])
def test_failures_raise_rerank_unavailable(fake, reply: Reply) -> None:  # type: ignore[no-untyped-def]
    r = create_reranker(RerankSettings(backend="tei", url=fake(reply).url))
    with pytest.raises(RerankUnavailable):
        r.scores("q", TEXTS)  # type: ignore[union-attr]


def test_a_slow_server_times_out(fake) -> None:  # type: ignore[no-untyped-def]
    def slow(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        time.sleep(2)
        return tei_reply(path, body)

    r = create_reranker(RerankSettings(backend="tei", url=fake(slow).url, timeout=0.3))
    with pytest.raises(RerankUnavailable):
        r.scores("q", TEXTS)  # type: ignore[union-attr]


def test_off_by_default_and_configuration_errors() -> None:
    assert create_reranker(RerankSettings()) is None
    with pytest.raises(ConfigurationError):
        create_reranker(RerankSettings(backend="tei"))
    assert rerank_order([0.1, 0.5, 0.5]) == [1, 2, 0]


def test_the_retriever_reorders_by_the_reranker_and_survives_its_failure(fake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ragd.config import Settings
    from ragd.core import Ragd

    wanted = "shipping.md"

    def prefer_shipping(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        return 200, [{"index": i, "score": 9.0 if "Parcels" in t else 0.0} for i, t in enumerate(body["texts"])]

    server = fake(prefer_shipping)
    r = Ragd(Settings(data_dir=tmp_path / "d", ingest={"workers": 0},
                      rerank={"backend": "tei", "url": server.url, "timeout": 2}))
    try:
        for name, text in {"policy.md": "# Refunds\n\nRefunds are paid within 14 days of the refund request.",
                           wanted: "# Shipping\n\nParcels arrive in 3 days; refunds for lost parcels too.",
                           "misc.md": "# Misc\n\nThe office is closed on Sundays."}.items():
            r.submit(text.encode(), name)
        r.workers.drain()
        res = r.retriever.search("refund request", top_k=2)
        assert res.hits[0].chunk.filename == wanted and len(res.hits) == 2 and "rerank" in res.timings_ms
        server.reply = lambda p, b: (500, {"error": "down"})
        res = r.retriever.search("refund request", top_k=2)
        assert res.timings_ms.get("rerank_failed") == 1.0 and res.hits[0].chunk.filename == "policy.md"
    finally:
        r.close()
