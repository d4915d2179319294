"""The ``IdentityStore`` port: tenants, users, groups, API keys, refresh tokens, collections and their grants.

Each storage backend hands out its adapter as :attr:`ragd.store.backend.Backend.identities` (the tables live in
the store's database and join its unit of work). Contract:

* ids are opaque strings chosen by the service (:mod:`ragd.auth.service`); e-mails are unique across tenants and
  compared case-insensitively.
* Secrets are never stored: passwords as argon2 hashes, API keys and refresh tokens as SHA-256 digests.
* ``readable_collections``/``collection_access`` compute a user's access inside one query: ownership gives
  ``write``; a grant to the user or to one of their groups gives its access; ``tenant_access`` gives every member
  of the tenant that access. The strongest applies. Other tenants' collections are never returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Access = Literal["read", "write"]


@dataclass(slots=True)
class User:
    id: str
    email: str
    role: str
    tenant_id: str
    password_hash: str = field(repr=False)
    disabled: bool = False
    created_at: float = 0.0
    groups: list[str] = field(default_factory=list)
    sessions_after: float | None = None
    """Access tokens issued before this time are refused (set when the user's sessions are ended)."""


@dataclass(frozen=True, slots=True)
class RefreshUse:
    """What presenting a refresh token did: a live one is now used (``replayed`` false); a used or revoked one
    revoked its whole family (``replayed`` true: stolen or replayed)."""

    user_id: str
    family: str
    replayed: bool = False


@dataclass(slots=True)
class ApiKey:
    id: str
    prefix: str
    user_id: str
    email: str
    tenant_id: str
    name: str
    role: str
    scopes: list[str] | None
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    last_used_at: float | None = None
    secret_hash: str = field(default="", repr=False)


@dataclass(slots=True)
class Grant:
    principal_type: Literal["user", "group"]
    principal_id: str
    access: Access
    principal: str = ""
    """The e-mail or group name, for display."""


TENANT_OWNER = "@tenant"
"""``Collection.owner_id`` of a collection the tenant owns (its admins manage it), not one member: the shared
default collection. Never a user id (those start with ``u_``, or are ``local``)."""


@dataclass(slots=True)
class Collection:
    tenant_id: str
    name: str
    owner_id: str
    """A user id, or :data:`TENANT_OWNER`."""
    tenant_access: Access | None
    created_at: float
    redact_ingest: bool | None = None
    redact_answers: bool | None = None
    owner_email: str = ""
    grants: list[Grant] = field(default_factory=list)

    @property
    def tenant_owned(self) -> bool:
        return self.owner_id == TENANT_OWNER


@dataclass(slots=True)
class Group:
    id: str
    tenant_id: str
    name: str
    members: list[str] = field(default_factory=list)
    """Member e-mails."""


class IdentityStore(Protocol):
    def migrate(self) -> None: ...

    def close(self) -> None: ...

    # tenants and users
    def ensure_tenant(self, tenant_id: str, now: float) -> None: ...

    def tenant_exists(self, tenant_id: str) -> bool: ...

    def add_user(self, user: User) -> User:
        """Insert; :class:`~ragd.errors.Conflict` if the e-mail is taken."""

    def get_user(self, user_id: str) -> User | None: ...

    def get_user_by_email(self, email: str) -> User | None: ...

    def list_users(self, tenant_id: str | None, limit: int = 100, offset: int = 0) -> tuple[list[User], int]: ...

    def update_user(
        self, user_id: str, *, role: str | None = None, disabled: bool | None = None,
        password_hash: str | None = None, now: float,
    ) -> None: ...

    def count_users(self) -> int: ...

    # groups
    def add_group(self, group: Group, member_ids: list[str]) -> Group: ...

    def get_group(self, tenant_id: str, name: str) -> Group | None: ...

    def list_groups(self, tenant_id: str) -> list[Group]: ...

    def set_group_members(self, group_id: str, member_ids: list[str]) -> None: ...

    # API keys
    def add_key(self, key: ApiKey) -> None: ...

    def get_key_by_prefix(self, prefix: str) -> ApiKey | None: ...

    def get_key(self, key_id: str) -> ApiKey | None: ...

    def list_keys(self, *, tenant_id: str | None = None, user_id: str | None = None) -> list[ApiKey]: ...

    def revoke_key(self, key_id: str, now: float) -> bool: ...

    def touch_key(self, key_id: str, now: float) -> None: ...

    # refresh tokens (rotated on every use; reuse of a used token revokes its whole family)
    def add_refresh(self, token_hash: str, user_id: str, family: str, expires_at: float, now: float) -> bool:
        """Store a new refresh token issued for a sign-in or refresh that started at ``now``; ``False`` (nothing
        stored) when the user's sessions were ended after ``now`` (a race with a password change must not win), or
        when the family was revoked meanwhile (a replay of its previous token detected while this refresh ran: the
        rotated token must not outlive the revocation)."""

    def use_refresh(self, token_hash: str, now: float) -> RefreshUse | None:
        """Mark a live token used and return its user and family. A token already used or revoked revokes its
        family; an already used one returns a :class:`RefreshUse` with ``replayed=True``, a revoked (never
        used), unknown or expired one ``None``."""

    def revoke_refresh(self, token_hash: str, now: float) -> None:
        """Revoke the token's whole family (logout)."""

    def end_sessions(self, user_id: str, now: float) -> int:
        """End every session of the user: revoke all their refresh tokens and refuse access tokens issued before
        ``now`` (``sessions_after``; the moment of the write if that is later: it is serialised with
        ``use_refresh``/``add_refresh``). Returns how many live refresh tokens were revoked."""

    # collections
    def add_collection(self, collection: Collection) -> Collection:
        """Insert; :class:`~ragd.errors.Conflict` if the name is taken in the tenant."""

    def get_collection(self, tenant_id: str, name: str) -> Collection | None: ...

    def list_collections(self, tenant_id: str) -> list[Collection]: ...

    def update_collection(
        self, tenant_id: str, name: str, *, tenant_access: Access | Literal["keep"] | None = "keep",
        grants: list[Grant] | None = None,
    ) -> None: ...

    def set_collection_privacy(self, tenant_id: str, name: str, *, redact_ingest: bool | None,
                               redact_answers: bool | None) -> None:
        """Per-collection PII redaction overrides (``None``: follow the global ``privacy`` settings)."""

    def collection_privacy(self, tenant_id: str, names: list[str]) -> dict[str, tuple[bool | None, bool | None]]:
        """``name -> (redact_ingest, redact_answers)`` for the given collections of a tenant."""

    def delete_collection(self, tenant_id: str, name: str) -> None: ...

    def collection_access(self, tenant_id: str, user_id: str) -> dict[str, Access]:
        """Every collection of ``tenant_id`` the user may read, with the strongest access they have on it."""

