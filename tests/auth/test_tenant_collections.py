"""The tenant's shared default collection belongs to the tenant (its admins), not to whoever uploads first: no member
can claim it, close it, change its redaction or delete it with everyone's documents (issue 14, high 2).

The tests in this module run in order on one server: tenant ``acme`` sees no upload before the first test, tenant
``default`` sees its first upload (by ``user_a``) in the second.
"""

from __future__ import annotations

import httpx
from tests.auth.conftest import PASSWORD, World, login


def _member(world: World, admin: str, email: str) -> dict[str, str]:
    r = world.http.post("/api/v1/admin/users", json={"email": email, "password": PASSWORD, "role": "user"},
                        headers=world.as_(admin))
    assert r.status_code == 201, r.text
    return login(world.http, email)


def _forbidden(r: httpx.Response) -> None:
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.json()["code"] == "forbidden"


def test_no_member_can_claim_the_default_collection_before_anyone_uploads(world: World) -> None:
    h = world.as_("user_b")
    for name in ("default", " default", "default "):
        _forbidden(world.http.post("/api/v1/collections", json={"name": name}, headers=h))
        _forbidden(world.http.post("/api/v1/collections", json={"name": name, "tenant_access": "write"}, headers=h))
    assert world.http.get("/api/v1/collections/default", headers=world.as_("admin_b")).status_code == 404
    # The first upload creates it for the tenant: open to every member, owned by nobody.
    world.upload("user_b", text="The acme canteen opens at noon.")
    coll = world.http.get("/api/v1/collections/default", headers=h).json()
    assert coll["owner"] is None and coll["tenant_owned"] is True and coll["tenant_access"] == "write", coll


def test_the_first_uploader_cannot_close_change_or_delete_the_default_collection(world: World) -> None:
    a = world.as_("user_a")
    first = world.upload("user_a", text="First upload of the tenant: the harbour opens at dawn.")
    b = _member(world, "admin_a", "member_b@example.org")
    mine = world.upload("user_a", text="A second note by member A about the tide.")
    r = world.http.post("/api/v1/documents/upload", headers=b,
                        files=[("file", ("b-notes.txt", b"Member B keeps his notes about the lighthouse."))])
    assert r.status_code == 201, r.text
    b_doc = r.json()["documents"][0]["id"]

    _forbidden(world.http.put("/api/v1/collections/default/grants", headers=a, json={
        "grants": [{"principal_type": "user", "principal": "user_a@example.org", "access": "write"}],
        "tenant_access": "none"}))                                                     # (a) make it private
    _forbidden(world.http.delete("/api/v1/collections/default", headers=a))            # (b) delete it
    _forbidden(world.http.put("/api/v1/collections/default/grants", headers=a,
                              json={"grants": [], "tenant_access": "none"}))           # (c) tenant access none
    _forbidden(world.http.put("/api/v1/collections/default/grants", headers=a, json={"tenant_access": "read"}))
    _forbidden(world.http.put("/api/v1/collections/default/privacy", headers=a, json={"redact_ingest": True}))

    coll = world.http.get("/api/v1/collections/default", headers=a).json()
    assert coll["owner"] is None and coll["tenant_owned"] is True and coll["tenant_access"] == "write", coll
    assert coll["access"] == "write"
    # Member B still reads his own document, and everyone else's in the shared collection, and uploads there.
    for doc in (b_doc, first["id"], mine["id"]):
        assert world.http.get(f"/api/v1/documents/{doc}", headers=b).status_code == 200, doc
    r = world.http.post("/api/v1/documents/upload", headers=b,
                        files=[("file", ("b-later.txt", b"Member B uploads again after the attempts."))])
    assert r.status_code == 201, r.text
    listed = world.http.get("/api/v1/documents", params={"collection": "default"}, headers=b).json()
    assert {b_doc, first["id"]} <= {d["id"] for d in listed["documents"]}


def test_a_tenant_admin_still_manages_the_default_collection(world: World) -> None:
    adm = world.as_("admin_a")
    r = world.http.put("/api/v1/collections/default/grants", headers=adm, json={"tenant_access": "read"})
    assert r.status_code == 200 and r.json()["tenant_access"] == "read", r.text
    assert world.http.get("/api/v1/collections/default", headers=world.as_("user_a")).json()["access"] == "read"
    r = world.http.put("/api/v1/collections/default/grants", headers=adm, json={"tenant_access": "write"})
    assert r.status_code == 200 and r.json()["tenant_access"] == "write", r.text
    r = world.http.put("/api/v1/collections/default/privacy", headers=adm, json={"redact_answers": True})
    assert r.status_code == 200 and r.json()["redact_answers"] is True, r.text
    assert world.http.put("/api/v1/collections/default/privacy", headers=adm, json={}).status_code == 200
    # Deleting it removes its documents; the next upload creates it again, for the tenant.
    assert world.http.delete("/api/v1/collections/default", headers=adm).status_code == 204
    assert world.http.get("/api/v1/collections/default", headers=adm).status_code == 404
    world.upload("user_a", text="After the reset the harbour opens at nine.")
    coll = world.http.get("/api/v1/collections/default", headers=world.as_("user_a")).json()
    assert coll["owner"] is None and coll["tenant_owned"] is True and coll["tenant_access"] == "write", coll
    # An admin may (re)create the default collection by name; it is the tenant's, not theirs.
    assert world.http.delete("/api/v1/collections/default", headers=adm).status_code == 204
    r = world.http.post("/api/v1/collections", headers=adm, json={"name": "default", "tenant_access": "write"})
    assert r.status_code == 201 and r.json()["owner"] is None and r.json()["tenant_owned"] is True, r.text


def test_other_collections_still_belong_to_their_creator(world: World) -> None:
    a = world.as_("user_a")
    r = world.http.post("/api/v1/collections", json={"name": "a-own"}, headers=a)
    assert r.status_code == 201 and r.json()["owner"] == "user_a@example.org" and r.json()["tenant_owned"] is False
    r = world.http.put("/api/v1/collections/a-own/grants", json={"grants": [], "tenant_access": "read"}, headers=a)
    assert r.status_code == 200, r.text
    assert world.http.delete("/api/v1/collections/a-own", headers=a).status_code == 204
