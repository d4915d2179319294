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


def test_a_collection_cannot_loosen_the_operators_redaction(server_factory) -> None:  # type: ignore[no-untyped-def]
    """With RAGD_PRIVACY__REDACT_* on, a collection may tighten redaction but never switch it off: the request is
    refused, and a "false" stored before the operator turned redaction on is not obeyed either."""
    before = server_factory().start()  # redaction off instance-wide: a collection may say false
    with before.client() as c:
        assert c.post("/api/v1/collections", json={"name": "loose"}).status_code == 201
        r = c.put("/api/v1/collections/loose/privacy", json={"redact_ingest": False, "redact_answers": False})
        assert r.status_code == 200 and r.json()["redact_ingest"] is False, r.text
        r = c.post("/api/v1/documents/upload", files=[("file", ("old.txt", TEXT.encode()))],
                   data={"collection": "loose"})
        old = r.json()["documents"][0]["id"]
        assert before.wait_done(c, [old])[old]["status"] == "indexed"
        assert "claire.dubois@example.com" in c.get(f"/api/v1/documents/{old}/text").json()["text"]
    before.stop()

    s = server_factory(before.data_dir, RAGD_PRIVACY__REDACT_INGEST="true", RAGD_PRIVACY__REDACT_ANSWERS="true")
    s.start()
    with s.client() as c:
        for flags, setting in (({"redact_ingest": False}, "RAGD_PRIVACY__REDACT_INGEST"),
                               ({"redact_answers": False}, "RAGD_PRIVACY__REDACT_ANSWERS"),
                               ({"redact_ingest": True, "redact_answers": False}, "RAGD_PRIVACY__REDACT_ANSWERS")):
            r = c.put("/api/v1/collections/loose/privacy", json=flags)
            assert r.status_code == 403, r.text
            assert r.json()["code"] == "forbidden" and setting in r.json()["detail"], r.text
        shown = c.get("/api/v1/collections/loose").json()
        assert shown["effective_redact_ingest"] is True and shown["effective_redact_answers"] is True, shown
        # the stale "false" from before is not obeyed: answers drawn from the old (unredacted) text are redacted,
        body = c.post("/api/v1/query", json={"query": "who handles escalations, what is the duty manager's e-mail",
                                             "filters": {"collection": "loose"}})
        assert body.status_code == 200 and body.json()["results"], body.text
        assert "claire.dubois@example.com" not in body.text and "[EMAIL]" in body.text, body.text
        # and a new document is redacted at ingestion
        r = c.post("/api/v1/documents/upload", files=[("file", ("duty.txt", ("New: " + TEXT).encode()))],
                   data={"collection": "loose"})
        assert r.status_code == 201, r.text
        doc = r.json()["documents"][0]["id"]
        assert s.wait_done(c, [doc])[doc]["status"] == "indexed"
        text = c.get(f"/api/v1/documents/{doc}/text").json()["text"]
        assert "claire.dubois@example.com" not in text and "[EMAIL]" in text, text
        # tightening (or following the setting) is accepted
        for flags in ({"redact_ingest": True, "redact_answers": True}, {}):
            assert c.put("/api/v1/collections/loose/privacy", json=flags).status_code == 200
