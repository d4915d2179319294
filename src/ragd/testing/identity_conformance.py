"""The conformance suite every :class:`~ragd.auth.identities.IdentityStore` adapter must pass.

Subclass :class:`IdentityStoreConformance` in the adapter's tests and provide an ``identities`` fixture yielding a
fresh, migrated, empty store::

    class TestSqliteIdentities(IdentityStoreConformance):
        @pytest.fixture
        def identities(self, tmp_path):
            backend = open_backend(f"sqlite:///{tmp_path / 'ragd.sqlite3'}")
            yield backend.identities
            backend.close()
"""

from __future__ import annotations

import time

import pytest

from ragd.auth.identities import TENANT_OWNER, ApiKey, Collection, Grant, Group, IdentityStore, RefreshUse, User
from ragd.errors import Conflict


def _user(uid: str, email: str, tenant: str = "default", role: str = "user") -> User:
    return User(uid, email, role, tenant, "hash", created_at=1.0)


def _people(store: IdentityStore) -> None:
    """Tenants ``default`` and ``acme``; u1, u2 in ``default``, u3 in ``acme``."""
    store.ensure_tenant("default", 0.0)
    store.ensure_tenant("acme", 0.0)
    for uid, tenant in (("u1", "default"), ("u2", "default"), ("u3", "acme")):
        store.add_user(_user(uid, f"{uid}@example.org", tenant))


def _key(kid: str, user_id: str, *, created: float, scopes: list[str] | None = None) -> ApiKey:
    return ApiKey(kid, f"pre_{kid}", user_id, "", "", f"key {kid}", "api_user", scopes, created,
                  secret_hash=f"sha_{kid}")


class IdentityStoreConformance:
    # -- tenants and users ---------------------------------------------------------------------------------------
    def test_tenants(self, identities: IdentityStore) -> None:
        assert identities.tenant_exists("acme") is False
        identities.ensure_tenant("acme", 1.0)
        identities.ensure_tenant("acme", 2.0)  # idempotent
        assert identities.tenant_exists("acme") is True

    def test_emails_are_unique_and_compared_case_insensitively(self, identities: IdentityStore) -> None:
        identities.ensure_tenant("default", 0.0)
        identities.ensure_tenant("acme", 0.0)
        identities.add_user(_user("u1", "Alice@Example.org"))
        with pytest.raises(Conflict):
            identities.add_user(_user("u2", "alice@example.ORG", tenant="acme"))  # across tenants too
        got = identities.get_user_by_email("ALICE@example.org")
        assert got is not None and got.id == "u1" and got.email == "Alice@Example.org"  # stored as given
        assert identities.get_user_by_email("bob@example.org") is None
        assert identities.count_users() == 1

    def test_user_round_trip_and_update(self, identities: IdentityStore) -> None:
        _people(identities)
        u1 = identities.get_user("u1")
        assert u1 == User("u1", "u1@example.org", "user", "default", "hash", False, 1.0, [], None)
        assert identities.get_user("nope") is None
        identities.update_user("u1", role="admin", disabled=True, now=5.0)
        u1 = identities.get_user("u1")
        assert u1 is not None and (u1.role, u1.disabled, u1.password_hash) == ("admin", True, "hash")
        identities.update_user("u1", disabled=False, password_hash="new", now=6.0)
        u1 = identities.get_user("u1")
        assert u1 is not None and (u1.role, u1.disabled, u1.password_hash) == ("admin", False, "new")

    def test_list_users_pages_by_email_ignoring_case(self, identities: IdentityStore) -> None:
        identities.ensure_tenant("default", 0.0)
        identities.ensure_tenant("acme", 0.0)
        for uid, email, tenant in (("a", "carol@x.org", "default"), ("b", "Bob@x.org", "default"),
                                   ("c", "alice@x.org", "default"), ("d", "dave@x.org", "acme")):
            identities.add_user(_user(uid, email, tenant))
        page, total = identities.list_users("default")
        assert total == 3 and [u.email for u in page] == ["alice@x.org", "Bob@x.org", "carol@x.org"]
        page, total = identities.list_users("default", limit=1, offset=1)
        assert total == 3 and [u.id for u in page] == ["b"]
        page, total = identities.list_users(None)
        assert total == 4 and [u.id for u in page] == ["c", "b", "a", "d"]

    # -- groups --------------------------------------------------------------------------------------------------
    def test_groups_and_members(self, identities: IdentityStore) -> None:
        _people(identities)
        g = identities.add_group(Group("g1", "default", "writers"), ["u2", "u1", "u1"])
        assert g == Group("g1", "default", "writers", ["u1@example.org", "u2@example.org"])
        identities.add_group(Group("g2", "default", "Auditors"), ["u1"])
        with pytest.raises(Conflict):
            identities.add_group(Group("g3", "default", "writers"), [])
        identities.add_group(Group("g4", "acme", "writers"), ["u3"])  # the name is free in another tenant
        assert [x.name for x in identities.list_groups("default")] == ["Auditors", "writers"]
        assert identities.get_user("u1").groups == ["Auditors", "writers"]  # type: ignore[union-attr]
        identities.set_group_members("g1", ["u2"])
        assert identities.get_group("default", "writers").members == ["u2@example.org"]  # type: ignore[union-attr]
        assert identities.get_user("u1").groups == ["Auditors"]  # type: ignore[union-attr]
        assert identities.get_group("acme", "Auditors") is None

    # -- API keys ------------------------------------------------------------------------------------------------
    def test_api_keys(self, identities: IdentityStore) -> None:
        _people(identities)
        identities.add_key(_key("k1", "u1", created=1.0, scopes=["search"]))
        identities.add_key(_key("k2", "u2", created=2.0))
        identities.add_key(_key("k3", "u3", created=3.0))
        k1 = identities.get_key_by_prefix("pre_k1")
        assert k1 is not None and (k1.id, k1.email, k1.tenant_id, k1.scopes, k1.secret_hash) == (
            "k1", "u1@example.org", "default", ["search"], "sha_k1")
        assert identities.get_key("k2").scopes is None  # type: ignore[union-attr]
        assert identities.get_key_by_prefix("pre_nope") is None
        assert [k.id for k in identities.list_keys(tenant_id="default")] == ["k2", "k1"]  # newest first
        assert [k.id for k in identities.list_keys(user_id="u3")] == ["k3"]
        assert len(identities.list_keys()) == 3
        assert identities.revoke_key("k1", 10.0) is True
        assert identities.revoke_key("k1", 11.0) is False
        assert identities.get_key("k1").revoked_at == 10.0  # type: ignore[union-attr]
        identities.touch_key("k2", 100.0)
        identities.touch_key("k2", 130.0)  # within a minute: not written
        assert identities.get_key("k2").last_used_at == 100.0  # type: ignore[union-attr]
        identities.touch_key("k2", 200.0)
        assert identities.get_key("k2").last_used_at == 200.0  # type: ignore[union-attr]

    # -- refresh tokens ------------------------------------------------------------------------------------------
    def test_a_used_refresh_token_presented_again_is_a_replay_and_revokes_its_family(
            self, identities: IdentityStore) -> None:
        _people(identities)
        identities.add_refresh("t1", "u1", "fam", 1e12, 1.0)
        assert identities.use_refresh("t1", 2.0) == RefreshUse("u1", "fam")
        identities.add_refresh("t2", "u1", "fam", 1e12, 2.0)
        assert identities.use_refresh("t1", 3.0) == RefreshUse("u1", "fam", replayed=True)
        assert identities.use_refresh("t2", 4.0) is None  # revoked with its family, never used: not a replay
        assert identities.use_refresh("unknown", 4.0) is None
        # a rotation that raced with the replay cannot add a live token to the revoked family
        assert identities.add_refresh("t3", "u1", "fam", 1e12, 2.5) is False
        assert identities.use_refresh("t3", 5.0) is None

    def test_expired_and_logged_out_refresh_tokens(self, identities: IdentityStore) -> None:
        _people(identities)
        identities.add_refresh("old", "u1", "f1", 10.0, 1.0)
        assert identities.use_refresh("old", 11.0) is None
        identities.add_refresh("a", "u1", "f2", 1e12, 1.0)
        identities.add_refresh("b", "u2", "f3", 1e12, 1.0)
        identities.revoke_refresh("a", 20.0)
        assert identities.use_refresh("a", 21.0) is None
        assert identities.use_refresh("b", 21.0) == RefreshUse("u2", "f3")
        assert identities.add_refresh("c", "u1", "f4", 1e12, 22.0) is True  # a new sign-in is not affected

    def test_end_sessions_revokes_every_refresh_token_of_the_user_only(self, identities: IdentityStore) -> None:
        _people(identities)
        for token, user, family in (("a", "u1", "f1"), ("b", "u1", "f2"), ("c", "u2", "f3")):
            identities.add_refresh(token, user, family, 1e12, 1.0)
        assert identities.get_user("u1").sessions_after is None  # type: ignore[union-attr]
        before = time.time()
        assert identities.end_sessions("u1", 5.5) == 2
        ended = identities.get_user("u1").sessions_after  # type: ignore[union-attr]
        assert ended is not None and ended >= before  # the moment of the write, not an older "now"
        assert identities.use_refresh("a", 6.0) is None and identities.use_refresh("b", 6.0) is None
        assert identities.use_refresh("c", 6.0) == RefreshUse("u2", "f3")
        assert identities.get_user("u2").sessions_after is None  # type: ignore[union-attr]
        # A sign-in or refresh that started before the end cannot store its new refresh token.
        assert identities.add_refresh("late", "u1", "f4", 1e12, before - 1) is False
        assert identities.use_refresh("late", ended + 1) is None
        assert identities.add_refresh("after", "u1", "f5", 1e12, ended + 1) is True

    # -- collections ---------------------------------------------------------------------------------------------
    def test_collections_with_grants(self, identities: IdentityStore) -> None:
        _people(identities)
        identities.add_group(Group("g1", "default", "team"), ["u2"])
        c = identities.add_collection(Collection(
            "default", "docs", "u1", None, 3.0,
            grants=[Grant("user", "u2", "read"), Grant("group", "g1", "write")]))
        assert (c.owner_email, c.tenant_access, c.redact_ingest, c.tenant_owned) == ("u1@example.org", None, None,
                                                                                    False)
        assert [(g.principal_type, g.principal_id, g.access, g.principal) for g in c.grants] == [
            ("group", "g1", "write", "team"), ("user", "u2", "read", "u2@example.org")]
        with pytest.raises(Conflict):
            identities.add_collection(Collection("default", "docs", "u2", None, 4.0))
        identities.add_collection(Collection("default", "Beta", "u2", "read", 4.0))
        identities.add_collection(Collection("acme", "docs", "u3", None, 4.0))
        assert [x.name for x in identities.list_collections("default")] == ["Beta", "docs"]
        identities.update_collection("default", "docs", tenant_access="read")
        identities.update_collection("default", "docs", grants=[Grant("user", "u2", "write")])
        got = identities.get_collection("default", "docs")
        assert got is not None and got.tenant_access == "read"
        assert [(g.principal_id, g.access) for g in got.grants] == [("u2", "write")]
        identities.update_collection("default", "docs", tenant_access=None)  # "keep" is the default
        identities.update_collection("default", "docs")
        got = identities.get_collection("default", "docs")
        assert got is not None and got.tenant_access is None and len(got.grants) == 1
        identities.delete_collection("default", "docs")
        assert identities.get_collection("default", "docs") is None
        identities.add_collection(Collection("default", "docs", "u2", None, 5.0))  # grants went with it
        assert identities.get_collection("default", "docs").grants == []  # type: ignore[union-attr]
        assert identities.get_collection("acme", "docs") is not None

    def test_collection_privacy(self, identities: IdentityStore) -> None:
        _people(identities)
        identities.add_collection(Collection("default", "a", "u1", None, 1.0, redact_ingest=True))
        identities.add_collection(Collection("default", "b", "u1", None, 1.0))
        identities.add_collection(Collection("acme", "a", "u3", None, 1.0, redact_answers=False))
        identities.set_collection_privacy("default", "b", redact_ingest=False, redact_answers=True)
        assert identities.collection_privacy("default", ["a", "b", "missing"]) == {
            "a": (True, None), "b": (False, True)}
        assert identities.collection_privacy("acme", ["a"]) == {"a": (None, False)}
        assert identities.collection_privacy("default", []) == {}
        got = identities.get_collection("default", "b")
        assert got is not None and (got.redact_ingest, got.redact_answers) == (False, True)

    def test_collection_access_takes_the_strongest_and_stays_in_the_tenant(
            self, identities: IdentityStore) -> None:
        _people(identities)
        identities.add_group(Group("g1", "default", "team"), ["u2"])
        identities.add_collection(Collection("default", "own", "u1", None, 1.0))
        identities.add_collection(Collection("default", "open", "u1", "read", 1.0,
                                             grants=[Grant("group", "g1", "write")]))
        identities.add_collection(Collection("default", "shared", "u1", None, 1.0,
                                             grants=[Grant("user", "u2", "read")]))
        identities.add_collection(Collection("default", "closed", "u1", None, 1.0))
        identities.add_collection(Collection("acme", "theirs", "u3", "write", 1.0,
                                             grants=[Grant("user", "u2", "write")]))
        assert identities.collection_access("default", "u1") == {
            "own": "write", "open": "write", "shared": "write", "closed": "write"}
        assert identities.collection_access("default", "u2") == {"open": "write", "shared": "read"}
        assert identities.collection_access("acme", "u3") == {"theirs": "write"}
        assert identities.collection_access("default", "u3") == {"open": "read"}  # tenant access is per tenant

    def test_a_tenant_owned_collection_belongs_to_no_member(self, identities: IdentityStore) -> None:
        _people(identities)
        c = identities.add_collection(Collection("default", "default", TENANT_OWNER, "write", 1.0))
        assert c.tenant_owned and c.owner_id == TENANT_OWNER and c.owner_email == TENANT_OWNER
        assert identities.collection_access("default", "u1") == {"default": "write"}
        identities.update_collection("default", "default", tenant_access="read",
                                     grants=[Grant("user", "u2", "write")])
        assert identities.collection_access("default", "u1") == {"default": "read"}
        assert identities.collection_access("default", "u2") == {"default": "write"}
        assert identities.collection_access("acme", "u3") == {}
        with pytest.raises(Conflict):  # one tenant-owned default per tenant, whoever creates it
            identities.add_collection(Collection("default", "default", "u1", None, 2.0))
        assert [x.owner_id for x in identities.list_collections("default")] == [TENANT_OWNER]

    def test_migrate_is_idempotent(self, identities: IdentityStore) -> None:
        _people(identities)
        identities.migrate()
        assert identities.count_users() == 3 and identities.get_user("u1") is not None
