"""Property-based isolation: random tenants, users, groups, collections, sharing and documents; through search,
answers, listing and document reads, nobody ever receives a chunk, a citation, a document or a count they may not
read — and everyone receives everything they may read (filters live in the store query, so top-k never starves).

Each example builds a fresh world (fresh tenant names) in one real server, computes who may read what with a
reference model written here, and compares it with what the API returns.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.auth.conftest import HIGH_LIMITS, HIGH_LOGIN_LIMITS, PASSWORD, login, server_with_admin
from tests.support import Server

ROLES = ("admin", "user", "viewer")
TOPICS = [
    "The harbour authority publishes tide tables for fishermen every spring.",
    "Quarterly revenue grew because the bakery opened a second shop downtown.",
    "Volcanic soils drain quickly and suit vineyards on steep slopes.",
    "The orchestra rehearses Mahler on Tuesdays in the old cathedral.",
    "Firmware updates for the routers are signed and checked before install.",
    "Migratory cranes rest in the wetlands before crossing the mountains.",
]


@dataclass
class U:
    email: str
    role: str
    tenant: int
    groups: set[int] = field(default_factory=set)


@dataclass
class C:
    name: str
    tenant: int
    owner: int
    tenant_access: str | None
    user_grants: dict[int, str]
    group_grants: dict[int, str]


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[U], list[C], list[int]]:
    n_tenants = draw(st.integers(1, 2))
    users = [U("", draw(st.sampled_from(ROLES)), draw(st.integers(0, n_tenants - 1)))
             for _ in range(draw(st.integers(2, 5)))]
    for u in users:
        u.groups = set(draw(st.sets(st.integers(0, 1), max_size=2)))
    owners = [i for i, u in enumerate(users) if u.role in ("admin", "user")]
    if not owners:
        users[0].role = "user"
        owners = [0]
    colls = []
    for _ in range(draw(st.integers(1, 4))):
        owner = draw(st.sampled_from(owners))
        tenant = users[owner].tenant
        peers = [i for i, u in enumerate(users) if u.tenant == tenant and i != owner]
        colls.append(C("", tenant, owner, draw(st.sampled_from([None, None, "read"])),
                       draw(st.dictionaries(st.sampled_from(peers), st.sampled_from(["read", "write"]), max_size=2))
                       if peers else {},
                       draw(st.dictionaries(st.integers(0, 1), st.sampled_from(["read", "write"]), max_size=1))))
    docs = draw(st.lists(st.integers(0, len(colls) - 1), min_size=1, max_size=6))
    return users, colls, docs


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, httpx.Client, dict[str, str]]]:
    base: Path = tmp_path_factory.mktemp("isolation")
    s = server_with_admin(base / "data", RAGD_RATELIMIT__PER_MINUTE=HIGH_LIMITS, **HIGH_LOGIN_LIMITS)
    http = s.client()
    # searches must go through the in-memory BM25 index (built in the background at start), not the FTS5 fallback
    for _ in range(200):
        if http.get("/api/v1/ready").json()["checks"]["lexical_index"]["status"] == "ok":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the in-memory BM25 index was not built")
    try:
        yield s, http, login(http, "op@example.org")
    finally:
        http.close()
        s.stop()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(world=worlds())
def test_nobody_sees_what_they_may_not_read(server: tuple[Server, httpx.Client, dict[str, str]],
                                            world: tuple[list[U], list[C], list[int]]) -> None:
    srv, http, op = server
    users, colls, doc_colls = world
    run = uuid.uuid4().hex[:6]
    tenants = [f"t{run}-{i}" for i in range(2)]
    headers: list[dict[str, str]] = []
    # A tenant admin per tenant makes the groups; the operator provisions every account.
    for t in tenants:
        r = http.post("/api/v1/admin/users", json={"email": f"boss-{t}@example.org", "password": PASSWORD,
                                                   "role": "admin", "tenant": t}, headers=op)
        assert r.status_code == 201, r.text
    boss = [login(http, f"boss-{t}@example.org") for t in tenants]
    for i, u in enumerate(users):
        u.email = f"u{i}-{run}@example.org"
        r = http.post("/api/v1/admin/users", json={"email": u.email, "password": PASSWORD, "role": u.role,
                                                   "tenant": tenants[u.tenant]}, headers=op)
        assert r.status_code == 201, r.text
        headers.append(login(http, u.email))
    for t, b in enumerate(boss):
        for g in (0, 1):
            members = [u.email for u in users if u.tenant == t and g in u.groups]
            r = http.post("/api/v1/admin/groups", json={"name": f"g{g}", "members": members}, headers=b)
            assert r.status_code == 201, r.text
    for j, c in enumerate(colls):
        c.name = f"c{j}"
        h = headers[c.owner]
        r = http.post("/api/v1/collections", json={"name": c.name, "tenant_access": c.tenant_access}, headers=h)
        assert r.status_code == 201, r.text
        grants = [{"principal_type": "user", "principal": users[i].email, "access": a}
                  for i, a in c.user_grants.items()]
        grants += [{"principal_type": "group", "principal": f"g{g}", "access": a} for g, a in c.group_grants.items()]
        r = http.put(f"/api/v1/collections/{c.name}/grants", json={"grants": grants}, headers=h)
        assert r.status_code == 200, r.text
    doc_ids: list[str] = []
    for k, j in enumerate(doc_colls):
        c = colls[j]
        # Distinct texts: near-duplicate passages are folded together in results (retrieval.dedup_threshold).
        text = f"zebra {run}. {TOPICS[k % len(TOPICS)]}"
        r = http.post("/api/v1/documents/upload", files=[("file", (f"d{k}.txt", text.encode()))],
                      data={"collection": c.name}, headers=headers[c.owner])
        assert r.status_code == 201, r.text
        doc_ids.append(r.json()["documents"][0]["id"])
    _wait(srv, http, doc_ids, doc_colls, colls, boss)

    for i, u in enumerate(users):
        h = headers[i]
        allowed = {doc_ids[k] for k, j in enumerate(doc_colls) if _reads(u, i, colls[j])}
        listing = http.get("/api/v1/documents", params={"limit": 500}, headers=h).json()
        listed = {d["id"] for d in listing["documents"]} & set(doc_ids)
        assert listed == allowed, (u, listing)
        # Counts never include other tenants' documents (a user's tenant holds only this example's documents,
        # so the total is exactly what they may read).
        assert listing["total"] == len(allowed), (u, listing["total"], allowed)
        res = http.post("/api/v1/query", json={"query": f"zebra {run}", "top_k": 100, "mode": "bm25",
                                               "answer": True}, headers=h)
        assert res.status_code == 200, res.text
        body = res.json()
        hits = {r["document_id"] for r in body["results"]}
        assert hits == allowed, (u, hits, allowed)
        assert {c["document_id"] for c in body["citations"]} <= allowed
        for k, d in enumerate(doc_ids):
            got = http.get(f"/api/v1/documents/{d}", headers=h).status_code
            assert got == (200 if d in allowed else 404), (u, k, got)


def _reads(u: U, i: int, c: C) -> bool:
    if u.tenant != c.tenant:
        return False
    return (u.role == "admin" or c.tenant_access is not None or c.owner == i or i in c.user_grants
            or bool(u.groups & set(c.group_grants)))


def _wait(srv: Server, http: httpx.Client, doc_ids: list[str], doc_colls: list[int], colls: list[C],
          boss: list[dict[str, str]]) -> None:
    by_tenant: dict[int, list[str]] = {}
    for d, j in zip(doc_ids, doc_colls, strict=True):
        by_tenant.setdefault(colls[j].tenant, []).append(d)
    for t, ids in by_tenant.items():
        docs = srv.wait_done(http, ids, headers=boss[t], timeout=300)
        assert all(doc["status"] == "indexed" for doc in docs.values()), docs
