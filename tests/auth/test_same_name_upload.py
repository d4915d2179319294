"""A same-name upload in a shared collection replaces only a document its uploader may write (issue 14): their
own, or any as the collection's owner or a tenant admin; otherwise it is a new document beside the other's."""

from __future__ import annotations

import time

from tests.auth.conftest import World


def wait_indexed(world: World, caller: str, ids: list[str]) -> dict[str, dict]:
    return world.server.wait_done(world.http, ids, headers=world.as_(caller))


def named(world: World, caller: str, name: str) -> list[dict]:
    r = world.http.get("/api/v1/documents", params={"q": name, "limit": 500}, headers=world.as_(caller))
    assert r.status_code == 200, r.text
    return [d for d in r.json()["documents"] if d["filename"] == name]


def test_a_member_cannot_replace_another_members_document(world: World) -> None:
    # the tenant's shared collection exists before the members upload (so neither of them owns it)
    first = world.upload("admin_a", "Opening hours: nine to five.", name="hours.txt")
    name = f"policy-{int(time.time() * 1000)}.txt"
    mine = world.upload("user_a", "Refunds are paid within 30 days.", name=name)
    wait_indexed(world, "user_a", [first["id"], mine["id"]])

    theirs = world.upload("api_a", "Refunds are never paid.", name=name)
    assert theirs["replaces"] is None and theirs["id"] != mine["id"]
    wait_indexed(world, "api_a", [theirs["id"]])
    ids = {d["id"] for d in named(world, "user_a", name)}
    assert ids == {mine["id"], theirs["id"]}  # the other member's upload did not remove user_a's document
    assert world.http.get(f"/api/v1/documents/{mine['id']}", headers=world.as_("user_a")).json()["status"] \
        == "indexed"

    # a member's own new version replaces their own document, not the other one's
    again = world.upload("user_a", "Refunds are paid within 14 days.", name=name)
    assert again["replaces"] == mine["id"]
    wait_indexed(world, "user_a", [again["id"]])
    assert {d["id"] for d in named(world, "user_a", name)} == {again["id"], theirs["id"]}

    # a tenant admin may replace any document of the tenant: the newest of that name
    admin = world.upload("admin_a", "Refunds are paid within 7 days.", name=name)
    assert admin["replaces"] == again["id"]
    wait_indexed(world, "admin_a", [admin["id"]])
    assert {d["id"] for d in named(world, "admin_a", name)} == {admin["id"], theirs["id"]}


def test_an_admins_user_role_key_replaces_only_as_a_user(world: World) -> None:
    """The calling credential decides, not its owner: an admin's key with the role ``user`` is a member here."""
    name = f"rota-{int(time.time() * 1000)}.txt"
    mine = world.upload("user_a", "The rota changes on Mondays.", name=name)
    wait_indexed(world, "user_a", [mine["id"]])
    r = world.http.post("/api/v1/keys", json={"name": "as a user", "role": "user"}, headers=world.as_("admin_a"))
    assert r.status_code == 201, r.text
    key = {"X-API-Key": r.json()["key"]}
    up = world.http.post("/api/v1/documents/upload", files=[("file", (name, b"The rota never changes."))],
                         headers=key)
    assert up.status_code == 201, up.text
    doc = up.json()["documents"][0]
    assert doc["replaces"] is None and doc["id"] != mine["id"]
