"""``POST /api/v1/admin/eval`` on documents already in ragd, judged by document id or file name."""

from __future__ import annotations

from tests.support import Server

DOCS = {
    "tides.md": "# Tides\n\nThe harbour publishes tide tables for fishermen every spring.",
    "bakery.md": "# Bakery\n\nRevenue grew because the bakery opened a second shop downtown.",
    "vines.md": "# Vineyards\n\nVolcanic soils drain quickly and suit vineyards on steep slopes.",
}


def test_eval_over_the_api_scores_judged_questions(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: Server = server_factory().start()
    with server.client() as c:
        r = c.post("/api/v1/documents/upload", files=[("file", (n, t.encode())) for n, t in DOCS.items()])
        ids = {d["filename"]: d["id"] for d in r.json()["documents"]}
        server.wait_done(c, list(ids.values()))
        body = {"queries": [
            {"id": "q1", "query": "when are tide tables published", "relevant": {"tides.md": 1}},
            {"id": "q2", "query": "which soils suit vineyards", "relevant": {ids["vines.md"]: 2}},
            {"id": "q3", "query": "bakery revenue", "relevant": {"missing.pdf": 1}},
        ], "modes": ["bm25", "hybrid"]}
        r = c.post("/api/v1/admin/eval", json=body)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["documents"] == 3 and out["unknown_judgments"] == ["missing.pdf"]
        by_mode = {m["mode"]: m for m in out["results"]}
        assert set(by_mode) == {"bm25", "hybrid"}
        for m in by_mode.values():
            assert m["queries"] == 3 and m["ndcg@10"] > 0.6 and m["latency_p50_ms"] > 0
        bad = c.post("/api/v1/admin/eval", json={"queries": [{"query": "x", "relevant": {}}]})
        assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
        dup = c.post("/api/v1/admin/eval", json={"queries": [{"id": "a", "query": "x", "relevant": {"a": 1}},
                                                             {"id": "a", "query": "y", "relevant": {"a": 1}}]})
        assert dup.status_code == 400
