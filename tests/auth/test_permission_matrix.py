"""Every endpoint × every role × own or other tenant → the expected status.

Resources belong to tenant ``default`` (the operator tenant, "own" for the ``*_a`` callers); the ``*_b`` callers
are in tenant ``acme``. The rule a case follows:

* ``public``: everyone, even without credentials, gets a 2xx.
* otherwise no credentials → 401; a role without the action → 403 (before anything is looked up); a resource of
  another tenant → 404 (it does not exist for them); else 2xx.

A test also checks that the matrix names every route the application serves, so a new endpoint cannot slip in
without its row. The compatibility routes (``ragd.api.routes.compat``, hidden from the OpenAPI document) each get
the row of their native twin, its expectations copied unchanged (only the request's shape differs): the same
caller gets the same answer from either.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.auth.conftest import PASSWORD, World
from tests.support import FIXTURES

from ragd.auth.policy import ACTIONS

ROLE_OF = {"anonymous": None, "admin_a": "admin", "user_a": "user", "api_a": "api_user", "viewer_a": "viewer",
           "admin_b": "admin", "user_b": "user", "api_b": "api_user", "viewer_b": "viewer"}
CALLERS = list(ROLE_OF)
OK = {200, 201, 202, 204}


@dataclass
class Case:
    method: str
    path: str
    action: str  # "public", "authenticated", or a policy action
    scoped: bool = False  # the path names a resource of tenant "default"
    prepare: Callable[[World, str], dict[str, Any]] | None = None  # -> format values and request kwargs
    kwargs: dict[str, Any] = field(default_factory=dict)
    special: Callable[[str], int | set[int]] | None = None  # caller -> expected status, for owner-only resources

    def expected(self, caller: str) -> set[int]:
        if self.action == "public":
            return OK
        role = ROLE_OF[caller]
        if role is None:
            return {401}
        if self.special is not None:
            exp = self.special(caller)
            return exp if isinstance(exp, set) else {exp}
        if self.action != "authenticated" and (
            role not in ACTIONS[self.action] or (self.action == "ops" and caller.endswith("_b"))
        ):
            return {403}
        if self.scoped and caller.endswith("_b"):
            return {404}
        return OK


def _doc(world: World, _: str) -> dict[str, Any]:
    return {"doc": world.upload("admin_a")["id"]}


def _indexed_doc(world: World, _: str) -> dict[str, Any]:
    cached = getattr(world, "_indexed", None)
    if cached is None:
        cached = world.upload("admin_a", text="Refunds are paid within fourteen days.", name="refunds.txt")["id"]
        world.server.wait_done(world.http, [cached], headers=world.as_("admin_a"))
        world._indexed = cached  # type: ignore[attr-defined]
    return {"doc": cached}


def _pdf_page(world: World, _: str) -> dict[str, Any]:
    cached = getattr(world, "_pdf", None)
    if cached is None:
        pdf = next(p for p in sorted(FIXTURES.rglob("*.pdf")) if p.stat().st_size < 200_000)
        r = world.http.post("/api/v1/documents/upload", files=[("file", (pdf.name, pdf.read_bytes()))],
                            headers=world.as_("admin_a"))
        assert r.status_code == 201, r.text
        cached = r.json()["documents"][0]["id"]
        docs = world.server.wait_done(world.http, [cached], headers=world.as_("admin_a"))
        assert docs[cached]["status"] == "indexed", docs
        world._pdf = cached  # type: ignore[attr-defined]
    return {"doc": cached, "page": 1}


def _conversation(world: World, _: str) -> dict[str, Any]:
    r = world.http.post("/api/v1/chat", json={"messages": [{"role": "user", "content": "hello?"}]},
                        headers=world.as_("user_a"))
    assert r.status_code == 200, r.text
    return {"conv": r.json()["conversation_id"]}


def _own_query(world: World, caller: str) -> dict[str, Any]:
    if ROLE_OF[caller] is None:
        return {"kwargs": {"json": {"rating": 1, "query_id": "q_nothing"}}}
    r = world.http.post("/api/v1/query", json={"query": "refunds"}, headers=world.as_(caller))
    assert r.status_code == 200, r.text
    return {"kwargs": {"json": {"rating": 1, "query_id": r.json()["query_id"]}}}


def _target_user(world: World, _: str) -> dict[str, Any]:
    return {"user": world.callers["viewer_a"].user_id, "kwargs": {"json": {"role": "viewer"}}}


def _key_of_user_a(world: World, _: str) -> dict[str, Any]:
    r = world.http.post("/api/v1/keys", json={"name": "victim"}, headers=world.as_("user_a"))
    return {"key": r.json()["id"]}


def _collection_of_user_a(world: World, _: str) -> dict[str, Any]:
    name = f"c-{uuid.uuid4().hex[:8]}"
    r = world.http.post("/api/v1/collections", json={"name": name, "tenant_access": "read"},
                        headers=world.as_("user_a"))
    assert r.status_code == 201, r.text
    return {"coll": name}


def _group(world: World, _: str) -> dict[str, Any]:
    name = f"g-{uuid.uuid4().hex[:8]}"
    r = world.http.post("/api/v1/admin/groups", json={"name": name, "members": ["user_a@example.org"]},
                        headers=world.as_("admin_a"))
    assert r.status_code == 201, r.text
    return {"group": name, "kwargs": {"json": {"name": name, "members": []}}}


def _backup(world: World, _: str) -> dict[str, Any]:
    cached = getattr(world, "_backup", None)
    if cached is None:
        r = world.http.post("/api/v1/admin/backup", headers=world.as_("admin_a"))
        assert r.status_code == 201, r.text
        cached = world._backup = r.json()["file"]  # type: ignore[attr-defined]
    return {"backup": cached}


def _upload(world: World, caller: str) -> dict[str, Any]:
    return {"kwargs": {"files": [("file", (f"{uuid.uuid4().hex[:6]}.txt", b"a small upload for the matrix"))]}}


def _fresh_user(world: World, caller: str) -> dict[str, Any]:
    return {"kwargs": {"json": {"email": f"{uuid.uuid4().hex[:8]}@example.org", "password": "long enough pw",
                                "role": "viewer"}}}


def _fresh_collection(world: World, caller: str) -> dict[str, Any]:
    return {"kwargs": {"json": {"name": f"n-{uuid.uuid4().hex[:8]}"}}}


def _login(world: World, caller: str) -> dict[str, Any]:
    return {"kwargs": {"json": {"username": "viewer_a@example.org", "password": "correct horse battery"}}}


def _refresh(world: World, caller: str) -> dict[str, Any]:
    s = world.http.post("/api/v1/auth/login", json={"username": "viewer_a@example.org",
                                                    "password": "correct horse battery"}).json()
    return {"kwargs": {"json": {"refresh_token": s["refresh_token"]}}}


def _owner_only(owner_ok: set[str], default_other: int = 404) -> Callable[[str], int | set[int]]:
    def rule(caller: str) -> int | set[int]:
        return OK if caller in owner_ok else default_other

    return rule


def _keys_delete(caller: str) -> int | set[int]:
    if ROLE_OF[caller] not in ACTIONS["keys:own"]:
        return 403  # revoking needs keys:own, like creating
    return OK if caller in ("user_a", "admin_a") else 404


def _collection_change(caller: str) -> int | set[int]:
    if ROLE_OF[caller] in ("api_user", "viewer"):
        return 403 if caller.endswith("_a") else 404
    return OK if caller in ("user_a", "admin_a") else 404


def _grants_kwargs(world: World, caller: str) -> dict[str, Any]:
    out = _collection_of_user_a(world, caller)
    out["kwargs"] = {"json": {"grants": [{"principal_type": "user", "principal": "viewer_a@example.org",
                                          "access": "read"}]}}
    return out


def _privacy_kwargs(world: World, caller: str) -> dict[str, Any]:
    out = _collection_of_user_a(world, caller)
    out["kwargs"] = {"json": {"redact_answers": True}}
    return out


def _own_fresh_session(world: World, caller: str) -> dict[str, Any]:
    """Ending sessions ends every session of the user, so callers signed in with a password act here as a fresh
    user of their own role and tenant (the world's sessions must survive)."""
    c = world.callers[caller]
    if c.role is None or "X-API-Key" in c.headers:
        return {}
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    r = world.http.post("/api/v1/admin/users", json={"email": email, "password": PASSWORD, "role": c.role},
                        headers=world.as_(f"admin_{caller[-1]}"))
    assert r.status_code == 201, r.text
    r = world.http.post("/api/v1/auth/login", json={"username": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"headers": {"Authorization": f"Bearer {r.json()['access_token']}"}}


def _throwaway_user(world: World, _: str) -> dict[str, Any]:
    r = world.http.post("/api/v1/admin/users", json={"email": f"{uuid.uuid4().hex[:8]}@example.org",
                                                     "password": PASSWORD}, headers=world.as_("admin_a"))
    assert r.status_code == 201, r.text
    return {"user": r.json()["id"]}


CASES = [
    Case("GET", "/api/v1/health", "public"),
    Case("GET", "/api/v1/ready", "public"),
    Case("GET", "/metrics", "public"),
    Case("POST", "/api/v1/auth/login", "public", prepare=_login),
    Case("POST", "/api/v1/auth/refresh", "public", prepare=_refresh),
    Case("POST", "/api/v1/auth/logout", "public", prepare=_refresh),
    Case("GET", "/api/v1/auth/me", "authenticated"),
    Case("POST", "/api/v1/auth/password", "authenticated", kwargs={"json": {"current_password": "wrong",
                                                                            "new_password": "irrelevant!"}},
         special=lambda caller: 401),  # everyone authenticated reaches it; the wrong password is refused
    Case("DELETE", "/api/v1/auth/sessions", "authenticated", prepare=_own_fresh_session,
         special=lambda caller: 401 if caller.startswith("api_") else OK),  # signed-in sessions, not keys
    Case("GET", "/api/v1/keys", "keys:own"),
    Case("POST", "/api/v1/keys", "keys:own", kwargs={"json": {"name": "matrix"}}),
    Case("DELETE", "/api/v1/keys/{key}", "keys:own", prepare=_key_of_user_a, special=_keys_delete),
    Case("POST", "/api/v1/documents/upload", "documents:write", prepare=_upload),
    # a writer passes the permission check and reaches the address check: the server's default refuses loopback
    Case("POST", "/api/v1/documents/fetch", "documents:write", kwargs={"json": {"url": "http://127.0.0.1:9/"}},
         special=lambda caller: 422 if ROLE_OF[caller] in ACTIONS["documents:write"] else 403),
    Case("GET", "/api/v1/documents", "documents:read"),
    Case("GET", "/api/v1/documents/{doc}", "documents:read", scoped=True, prepare=_doc),
    Case("GET", "/api/v1/documents/{doc}/file", "documents:read", scoped=True, prepare=_doc),
    Case("GET", "/api/v1/documents/{doc}/text", "documents:read", scoped=True, prepare=_indexed_doc),
    Case("POST", "/api/v1/documents/{doc}/reindex", "documents:write", scoped=True, prepare=_doc),
    Case("DELETE", "/api/v1/documents/{doc}", "documents:write", scoped=True, prepare=_doc),
    Case("POST", "/api/v1/query", "query", kwargs={"json": {"query": "refunds"}}),
    Case("POST", "/api/v1/chat", "query", kwargs={"json": {"messages": [{"role": "user", "content": "refunds?"}]}}),
    Case("GET", "/api/v1/conversations", "query"),
    Case("GET", "/api/v1/conversations/{conv}", "query", prepare=_conversation,
         special=_owner_only({"user_a"})),
    Case("DELETE", "/api/v1/conversations/{conv}", "query", prepare=_conversation,
         special=_owner_only({"user_a"})),
    Case("POST", "/api/v1/feedback", "query", prepare=_own_query),
    Case("GET", "/v1/models", "query"),
    Case("POST", "/v1/chat/completions", "query",
         kwargs={"json": {"model": "ragd", "messages": [{"role": "user", "content": "refunds?"}]}}),
    Case("GET", "/api/v1/collections", "documents:read"),
    Case("POST", "/api/v1/collections", "collections:manage", prepare=_fresh_collection),
    Case("GET", "/api/v1/collections/{coll}", "documents:read", scoped=True, prepare=_collection_of_user_a),
    Case("PUT", "/api/v1/collections/{coll}/grants", "authenticated", prepare=_grants_kwargs,
         special=_collection_change),
    Case("PUT", "/api/v1/collections/{coll}/privacy", "authenticated", prepare=_privacy_kwargs,
         special=_collection_change),
    Case("DELETE", "/api/v1/collections/{coll}", "authenticated", prepare=_collection_of_user_a,
         special=_collection_change),
    Case("GET", "/api/v1/admin/users", "admin"),
    Case("POST", "/api/v1/admin/users", "admin", prepare=_fresh_user),
    Case("PATCH", "/api/v1/admin/users/{user}", "admin", scoped=True, prepare=_target_user),
    Case("DELETE", "/api/v1/admin/users/{user}/sessions", "admin", scoped=True, prepare=_throwaway_user),
    Case("GET", "/api/v1/admin/groups", "admin"),
    Case("POST", "/api/v1/admin/groups", "admin", prepare=lambda w, c: {"kwargs": {"json": {
        "name": f"g-{uuid.uuid4().hex[:8]}", "members": []}}}),
    Case("PUT", "/api/v1/admin/groups/{group}/members", "admin", scoped=True, prepare=_group),
    Case("GET", "/api/v1/admin/keys", "admin"),
    Case("POST", "/api/v1/admin/keys", "admin", scoped=True,
         kwargs={"json": {"email": "user_a@example.org"}}),
    Case("GET", "/api/v1/admin/feedback", "admin"),
    Case("GET", "/api/v1/admin/stats", "admin"),
    Case("GET", "/api/v1/admin/syncs", "ops"),
    Case("GET", "/api/v1/admin/jobs", "admin"),  # an operator sees every queue, another admin their tenant's share
    Case("POST", "/api/v1/admin/eval", "admin", kwargs={"json": {"queries": [
        {"query": "refunds", "relevant": {"refunds.txt": 1}}]}}),
    Case("GET", "/api/v1/admin/audit", "admin"),
    Case("GET", "/api/v1/admin/audit/public-key", "admin"),
    Case("POST", "/api/v1/admin/audit/verify", "ops"),
    Case("GET", "/api/v1/documents/{doc}/pages/{page}", "documents:read", scoped=True, prepare=_pdf_page),
    Case("GET", "/api/v1/documents/{doc}/pages/{page}/boxes", "documents:read", scoped=True, prepare=_pdf_page),
    Case("POST", "/api/v1/admin/rebuild-index", "ops"),
    Case("POST", "/api/v1/admin/backup", "ops"),
    Case("GET", "/api/v1/admin/backups", "ops"),
    Case("GET", "/api/v1/admin/backups/{backup}", "ops", prepare=_backup),
    Case("POST", "/api/v1/admin/backups/{backup}/verify", "ops", prepare=_backup),
    Case("GET", "/api/v1/admin/doctor", "ops"),
]


def _twin(method: str, path: str, native_path: str, **request: Any) -> Case:
    """The row of the compatibility route ``method path``: its native twin's, with only ``prepare``/``kwargs``
    (the shape of the request) changed."""
    assert set(request) <= {"prepare", "kwargs"}
    native = next(c for c in CASES if (c.method, c.path) == (method, native_path))
    return dataclasses.replace(native, path=path, **request)


def _login_form(world: World, caller: str) -> dict[str, Any]:
    return {"kwargs": {"data": {"username": "viewer_a@example.org", "password": "correct horse battery",
                                "grant_type": "password"}}}


def _bulk_upload(world: World, caller: str) -> dict[str, Any]:
    return {"kwargs": {"files": [("files", (f"{uuid.uuid4().hex[:6]}.txt", b"bulk upload one for the matrix")),
                                 ("files", (f"{uuid.uuid4().hex[:6]}.txt", b"bulk upload two for the matrix"))]}}


def _client_conversation(world: World, _: str) -> dict[str, Any]:
    cid = f"matrix-{uuid.uuid4().hex[:8]}"
    r = world.http.post("/chat", json={"messages": [{"role": "user", "content": "hello?"}], "conversation_id": cid},
                        headers=world.as_("user_a"))
    assert r.status_code == 200, r.text
    return {"conv": cid}


COMPAT_CASES = [
    _twin("GET", "/health", "/api/v1/health"),
    _twin("GET", "/ready", "/api/v1/ready"),
    _twin("POST", "/auth/login", "/api/v1/auth/login"),
    _twin("POST", "/auth/login", "/api/v1/auth/login", prepare=_login_form),
    _twin("POST", "/documents/upload", "/api/v1/documents/upload"),
    _twin("POST", "/documents/upload/bulk", "/api/v1/documents/upload", prepare=_bulk_upload),
    _twin("POST", "/chat/query", "/api/v1/query", kwargs={"json": {"query": "refunds", "limit": 3}}),
    # every caller names its conversation the same: each gets a conversation of its own
    _twin("POST", "/chat", "/api/v1/chat", kwargs={"json": {
        "messages": [{"role": "user", "content": "refunds?"}], "conversation_id": "matrix-shared"}}),
    _twin("GET", "/conversations/{conv}", "/api/v1/conversations/{conv}", prepare=_client_conversation),
]


def _route_key(method: str, path: str) -> tuple[str, str]:
    return method, re.sub(r"\{[^}]+\}", "{}", path)


def test_the_matrix_covers_every_route() -> None:
    from ragd.api.app import create_app
    from ragd.config import Settings

    served = set()
    for path, methods in create_app(Settings()).openapi()["paths"].items():
        if path.startswith(("/api/", "/v1/")) or path == "/metrics":
            served.update(_route_key(m.upper(), path) for m in methods)
    covered = {_route_key(c.method, c.path) for c in CASES}
    assert served - covered == set(), "endpoints without a permission-matrix row"
    assert covered - served == set(), "matrix rows for endpoints that do not exist"


def test_the_matrix_covers_every_compatibility_route() -> None:
    from fastapi.routing import APIRoute

    from ragd.api.routes import compat

    served = {_route_key(m, r.path) for r in compat.router.routes if isinstance(r, APIRoute) for m in r.methods}
    covered = {_route_key(c.method, c.path) for c in COMPAT_CASES}
    assert served == covered  # each row is its native twin's (_twin): no expectation of its own


@pytest.mark.parametrize("case", CASES + COMPAT_CASES, ids=lambda c: f"{c.method} {c.path}")
def test_permission_matrix(world: World, case: Case) -> None:
    failures = []
    for caller in CALLERS:
        prep = case.prepare(world, caller) if case.prepare else {}
        kwargs = {**case.kwargs, **prep.pop("kwargs", {})}
        path = case.path.format(**prep)
        headers = prep.pop("headers", world.as_(caller))
        r = world.http.request(case.method, path, headers=headers, **kwargs)
        want = case.expected(caller)
        if r.status_code not in want:
            failures.append(f"{caller}: got {r.status_code} want {sorted(want)}: {r.text[:200]}")
        elif r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"], r.text
    assert not failures, "\n".join(failures)


def test_client_conversation_ids_are_per_owner(world: World) -> None:
    """Two users naming their conversations the same never meet: the id reaches, shows and changes only the
    caller's own, and answers for someone else's exactly as for an id never used."""
    cid, unused = f"shared-{uuid.uuid4().hex[:8]}", f"unused-{uuid.uuid4().hex[:8]}"
    question = {"role": "user", "content": "What does the secret alpha plan say about refunds?"}
    r = world.http.post("/chat", json={"messages": [question], "conversation_id": cid}, headers=world.as_("user_a"))
    assert r.status_code == 200, r.text
    owner_store_id = r.json()["ragd_conversation_id"]
    for caller in ("user_b", "admin_a", "api_a", "admin_b"):
        h = world.as_(caller)
        other, never = world.http.get(f"/conversations/{cid}", headers=h), world.http.get(
            f"/conversations/{unused}", headers=h)
        assert other.status_code == never.status_code == 404, (caller, other.text)
        assert other.json() == {**never.json(), "detail": never.json()["detail"].replace(unused, cid)}
        native = world.http.get(f"/api/v1/conversations/{owner_store_id}", headers=h)
        assert native.status_code == 404 and native.json()["code"] == "conversation_not_found"
        mine = world.http.post("/chat", json={"messages": [{"role": "user", "content": f"{caller} asks"}],
                                              "conversation_id": cid}, headers=h)
        assert mine.status_code == 200, mine.text
        assert mine.json()["conversation_id"] == cid and mine.json()["ragd_conversation_id"] != owner_store_id
        got = world.http.get(f"/conversations/{cid}", headers=h).json()
        assert got["messages"][0]["content"] == f"{caller} asks" and len(got["messages"]) == 2
    owner = world.http.get(f"/conversations/{cid}", headers=world.as_("user_a")).json()
    assert [m["role"] for m in owner["messages"]] == ["user", "assistant"]
    assert owner["messages"][0]["content"] == question["content"]
