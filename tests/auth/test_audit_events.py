"""Security events reach the audit log through the API, per tenant, and answered questions carry a signed
decision record that `ragd audit verify` accepts."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tests.auth.conftest import PASSWORD, World, ragd_cli


def _entries(world: World, who: str, action: str) -> list[dict]:
    r = world.http.get("/api/v1/admin/audit", params={"action": action, "limit": 500}, headers=world.as_(who))
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_security_events_are_audited_per_tenant(world: World) -> None:
    world.http.post("/api/v1/auth/login", json={"username": "user_a@example.org", "password": "not it at all"})
    doc = world.upload("user_a", text="Audit trail test document about the harbour tide tables.")
    world.server.wait_done(world.http, [doc["id"]], headers=world.as_("admin_a"))
    coll = world.http.post("/api/v1/collections", json={"name": "audited"}, headers=world.as_("user_a"))
    assert coll.status_code == 201
    world.http.put("/api/v1/collections/audited/grants", headers=world.as_("user_a"), json={
        "grants": [{"principal_type": "user", "principal": "viewer_a@example.org", "access": "read"}]})
    key = world.http.post("/api/v1/keys", json={"name": "audit"}, headers=world.as_("user_a")).json()
    world.http.delete(f"/api/v1/keys/{key['id']}", headers=world.as_("user_a"))
    q = world.http.post("/api/v1/query", json={"query": "harbour tide tables"}, headers=world.as_("user_a")).json()
    assert world.http.delete(f"/api/v1/documents/{doc['id']}", headers=world.as_("user_a")).status_code == 204

    for action in ("auth.login", "auth.login_failed", "document.uploaded", "document.deleted", "collection.created",
                   "collection.shared", "key.created", "key.revoked", "query.answered", "user.created"):
        assert _entries(world, "admin_a", action), action
    failed = [e for e in _entries(world, "admin_a", "auth.login_failed") if e["target"] == "user_a@example.org"]
    assert failed and "not it at all" not in json.dumps(failed)  # the attempted password is never recorded
    answered = [e for e in _entries(world, "admin_a", "query.answered") if e["target"] == q["query_id"]]
    assert len(answered) == 1
    decision = answered[0]["decision"]
    assert decision["question"] == "harbour tide tables" and decision["user"]["email"] == "user_a@example.org"
    assert decision["retrieved"] and all("score" in c for c in decision["retrieved"])
    assert len(decision["answer_sha256"]) == 64
    # The signature verifies with the published public key.
    pub = world.http.get("/api/v1/admin/audit/public-key", headers=world.as_("admin_a")).json()
    key_obj = Ed25519PublicKey.from_public_bytes(base64.b64decode(pub["public_key"]))
    assert answered[0]["key_id"] == pub["key_id"] and key_obj is not None
    # Tenant acme's admin sees none of tenant default's entries.
    assert all(e["tenant_id"] in ("acme", "*") for e in _entries(world, "admin_b", "document.uploaded"))
    assert not [e for e in _entries(world, "admin_b", "query.answered") if e["target"] == q["query_id"]]
    # The whole chain verifies, from the CLI and for operators over HTTP.
    res = ragd_cli(world.server.data_dir, "audit", "verify")
    assert res.returncode == 0, res.stdout + res.stderr
    assert world.http.post("/api/v1/admin/audit/verify", headers=world.as_("admin_a")).json()["ok"] is True



def test_downloads_and_replacements_are_audited(world: World) -> None:
    v1 = world.upload("user_a", text="Policy v1: visitors sign in at the gate.", name="audited-policy.txt")
    world.server.wait_done(world.http, [v1["id"]], headers=world.as_("admin_a"))
    r = world.http.get(f"/api/v1/documents/{v1['id']}/file", headers=world.as_("viewer_a"))
    assert r.status_code == 200 and r.content.startswith(b"Policy v1"), r.text
    v2 = world.upload("user_a", text="Policy v2: visitors sign in at reception.", name="audited-policy.txt")
    assert v2["id"] != v1["id"]

    downloads = [e for e in _entries(world, "admin_a", "document.downloaded") if e["target"] == v1["id"]]
    assert len(downloads) == 1, downloads
    assert downloads[0]["actor"]["email"] == "viewer_a@example.org", downloads[0]
    assert downloads[0]["details"]["filename"] == "audited-policy.txt"
    replaced = [e for e in _entries(world, "admin_a", "document.replaced") if e["target"] == v2["id"]]
    assert len(replaced) == 1, replaced
    assert replaced[0]["actor"]["email"] == "user_a@example.org" and replaced[0]["details"]["replaces"] == v1["id"]
    # a download refused (unreadable or absent) is no download
    assert world.http.get(f"/api/v1/documents/{v1['id']}/file", headers=world.as_("user_b")).status_code == 404
    assert len([e for e in _entries(world, "admin_a", "document.downloaded") if e["target"] == v1["id"]]) == 1

def test_the_server_applies_retention_on_its_own(server_factory) -> None:  # type: ignore[no-untyped-def]
    import time

    s = server_factory(RAGD_AUDIT__CONVERSATION_DAYS="0.00002", RAGD_AUDIT__RETENTION_INTERVAL_MINUTES="0.01").start()
    with s.client() as c:
        conv = c.post("/api/v1/chat", json={"messages": [{"role": "user", "content": "hello"}]}).json()
        deadline = time.monotonic() + 60
        while c.get(f"/api/v1/conversations/{conv['conversation_id']}").status_code == 200:
            assert time.monotonic() < deadline, "the conversation outlived its retention age"
            time.sleep(0.5)
        runs = c.get("/api/v1/admin/audit", params={"action": "retention.purged"}).json()["entries"]
        assert any(e["details"]["conversations"] >= 1 for e in runs), runs


def test_a_replayed_refresh_token_is_audited(world: World) -> None:
    email = f"replay-{uuid.uuid4().hex[:8]}@example.org"
    r = world.http.post("/api/v1/admin/users", json={"email": email, "password": PASSWORD},
                        headers=world.as_("admin_a"))
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    first = world.http.post("/api/v1/auth/login", json={"username": email, "password": PASSWORD}).json()
    assert world.http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 200
    replay = world.http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_credentials"
    entries = [e for e in _entries(world, "admin_a", "auth.refresh_replayed") if e["target"] == user_id]
    assert len(entries) == 1 and entries[0]["details"]["email"] == email


def test_denied_accesses_are_audited(world: World) -> None:
    r = world.http.get("/api/v1/admin/users", headers=world.as_("user_a"))
    assert r.status_code == 403
    scoped = world.http.post("/api/v1/keys", json={"scopes": ["query"]}, headers=world.as_("user_a")).json()
    assert world.http.get("/api/v1/documents", headers={"X-API-Key": scoped["key"]}).status_code == 403
    entries = [e for e in _entries(world, "admin_a", "access.denied") if e["target"] == "/api/v1/admin/users"]
    assert any(e["actor"]["email"] == "user_a@example.org" and e["details"]["method"] == "GET" for e in entries), \
        entries
    by_key = [e for e in _entries(world, "admin_a", "access.denied") if e["target"] == "/api/v1/documents"]
    assert any(e["details"]["key_id"] == scoped["id"] for e in by_key), by_key
    # Anonymous callers get 401, not an audit entry per probe.
    assert httpx.get(f"{world.server.url}/api/v1/admin/users").status_code == 401


def test_compatibility_routes_audit_as_their_native_twins(world: World) -> None:
    """The old deployments' calls (docs/migrating.md) leave the same audit trail as ragd's own routes."""
    email = "user_a@example.org"
    assert world.http.post("/auth/login", data={"username": email, "password": "wrong, form-encoded"}).status_code \
        == 401
    assert world.http.post("/auth/login", data={"username": email, "password": PASSWORD}).status_code == 200
    r = world.http.post("/documents/upload/bulk", headers=world.as_("user_a"), files=[
        ("files", ("compat-audit.txt", b"Compat audit document about lighthouse keepers' rotas."))])
    assert r.status_code == 201, r.text
    doc = r.json()["documents"][0]["id"]
    world.server.wait_done(world.http, [doc], headers=world.as_("admin_a"))
    chat = world.http.post("/chat", headers=world.as_("user_a"), json={
        "messages": [{"role": "user", "content": "lighthouse keepers' rotas"}], "conversation_id": "audit-1"})
    assert chat.status_code == 200, chat.text
    assert [e for e in _entries(world, "admin_a", "auth.login_failed") if e["target"] == email]
    assert [e for e in _entries(world, "admin_a", "auth.login") if e["actor"]["email"] == email]
    uploaded = [e for e in _entries(world, "admin_a", "document.uploaded") if e["target"] == doc]
    assert len(uploaded) == 1 and uploaded[0]["details"]["filename"] == "compat-audit.txt"
    answered = [e for e in _entries(world, "admin_a", "query.answered") if e["target"] == chat.json()["message_id"]]
    assert len(answered) == 1 and answered[0]["decision"]["user"]["email"] == email
