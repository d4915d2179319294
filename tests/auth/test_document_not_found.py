"""A document you may not read and a document that does not exist get byte-identical answers, on every route that
takes a document id: a status and body cannot tell "exists in your tenant" from "exists elsewhere" from "never was"
(issue 14, low)."""

from __future__ import annotations

from tests.auth.conftest import World

ROUTES = [
    ("GET", "/api/v1/documents/{id}"),
    ("GET", "/api/v1/documents/{id}/text"),
    ("GET", "/api/v1/documents/{id}/file"),
    ("GET", "/api/v1/documents/{id}/pages/1"),
    ("GET", "/api/v1/documents/{id}/pages/1/boxes?text=lighthouse"),
    ("POST", "/api/v1/documents/{id}/reindex"),
    ("DELETE", "/api/v1/documents/{id}"),
]


def test_unreadable_and_absent_documents_look_the_same(world: World) -> None:
    owner = world.as_("user_a")
    assert world.http.post("/api/v1/collections", json={"name": "hidden-404"}, headers=owner).status_code == 201
    in_tenant = world.upload("user_a", text="The lighthouse keeper's private diary.", collection="hidden-404")["id"]
    other_tenant = world.upload("user_b", text="Acme's lighthouse maintenance plan.")["id"]
    world.server.wait_done(world.http, [in_tenant], headers=world.as_("admin_a"))
    absent = "d_" + "0" * 20
    for caller in ("api_a", "viewer_a"):  # a writer without access to the collection, and a reader
        h = world.as_(caller)
        for method, route in ROUTES:
            answers = {}
            for label, doc in (("absent", absent), ("in tenant", in_tenant), ("other tenant", other_tenant),
                               ("garbage", "not-a-document-id")):
                r = world.http.request(method, route.format(id=doc), headers=h)
                answers[label] = (r.status_code, r.headers.get("content-type"), r.content)
            assert len(set(answers.values())) == 1, (caller, method, route, answers)
            status, _, body = answers["absent"]
            # a writer is told 404; a viewer may be refused the write routes by role first (same for every id)
            assert status == 404 or (caller == "viewer_a" and method != "GET" and status == 403), (route, body)
    # the owner still reads it
    assert world.http.get(f"/api/v1/documents/{in_tenant}", headers=owner).status_code == 200
