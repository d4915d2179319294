"""PII redaction per collection: a collection can redact what it ingests and what answers drawn from it show,
while another collection of the same tenant keeps its text (the global settings are off here)."""

from __future__ import annotations

from tests.auth.conftest import World

TEXT = "Escalations go to the duty manager, reachable at claire.dubois@example.com or +33 6 12 34 56 78."


def test_collection_privacy_overrides(world: World) -> None:
    h = world.as_("user_a")
    for name, flags in (("private-pii", {"redact_ingest": True, "redact_answers": True}),
                        ("answers-only", {"redact_answers": True}), ("plain", {})):
        assert world.http.post("/api/v1/collections", json={"name": name}, headers=h).status_code == 201
        r = world.http.put(f"/api/v1/collections/{name}/privacy", json=flags, headers=h)
        assert r.status_code == 200 and r.json()["redact_answers"] == flags.get("redact_answers"), r.text
    docs = {name: world.upload("user_a", text=TEXT, collection=name, name=f"{name}.txt")["id"]
            for name in ("private-pii", "answers-only", "plain")}
    world.server.wait_done(world.http, list(docs.values()), headers=world.as_("admin_a"))

    def text(name: str) -> str:
        return world.http.get(f"/api/v1/documents/{docs[name]}/text", headers=h).json()["text"]

    assert "claire.dubois@example.com" not in text("private-pii") and "[EMAIL]" in text("private-pii")
    assert "claire.dubois@example.com" in text("answers-only") and "claire.dubois@example.com" in text("plain")

    def ask(name: str) -> str:
        r = world.http.post("/api/v1/query", json={"query": "who handles escalations, what is the duty manager's "
                                                   "e-mail", "filters": {"collection": name}}, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        return body["answer"] + " ".join(c["text"] for c in body["citations"]) + " ".join(
            p["text"] for p in body["results"])

    assert "claire.dubois@example.com" not in ask("answers-only")
    assert "claire.dubois@example.com" not in ask("private-pii")
    assert "claire.dubois@example.com" in ask("plain")
    viewer = world.http.put("/api/v1/collections/plain/privacy", json={"redact_answers": True},
                            headers=world.as_("viewer_a"))
    assert viewer.status_code in (403, 404)
