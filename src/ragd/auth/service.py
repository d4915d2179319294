"""Who is the actor: users, logins, refresh tokens and API keys (:class:`AuthService`).

The HTTP layer hands it the raw credentials of a request and gets an :class:`~ragd.auth.actor.Actor` back (or an
``Unauthorized`` error); the CLI uses it to create users and keys. Authorisation lives in
:mod:`ragd.auth.policy` and :mod:`ragd.auth.access`.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ragd.auth import credentials as cred
from ragd.auth.actor import LOCAL_TENANT, ROLES, Actor
from ragd.auth.identities import ApiKey, IdentityStore, User
from ragd.auth.policy import ACTIONS, KEY_ROLES
from ragd.config import AuthSettings
from ragd.errors import (
    ApiKeyNotFound,
    BadRequest,
    Forbidden,
    InvalidCredentials,
    Unauthorized,
    UserNotFound,
)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


@dataclass(slots=True)
class Session:
    """What a login or a refresh returns."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: User


class AuthService:
    def __init__(self, identities: IdentityStore, settings: AuthSettings, jwt_secret: str) -> None:
        self.identities = identities
        self.settings = settings
        self.signer = cred.TokenSigner(jwt_secret, settings.access_token_minutes * 60)

    # -- users ---------------------------------------------------------------------------------------------------
    def create_user(self, email: str, password: str, role: str, tenant_id: str = LOCAL_TENANT) -> User:
        email = email.strip()
        if not _EMAIL.match(email):
            raise BadRequest(f"{email!r} is not an e-mail address")
        if role not in ROLES:
            raise BadRequest(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if not _TENANT.match(tenant_id):
            raise BadRequest("a tenant id is 1-63 lowercase letters, digits, '.', '_' or '-'")
        self.check_password(password)
        now = time.time()
        self.identities.ensure_tenant(tenant_id, now)
        user = User("u_" + uuid.uuid4().hex[:20], email, role, tenant_id, cred.hash_password(password), False, now)
        return self.identities.add_user(user)

    def check_password(self, password: str) -> None:
        if len(password) < self.settings.password_min_length:
            raise BadRequest(f"a password needs at least {self.settings.password_min_length} characters")
        if len(password) > 1024:
            raise BadRequest("a password has at most 1024 characters")

    def user(self, user_id: str, tenant_id: str | None = None) -> User:
        user = self.identities.get_user(user_id)
        if user is None or (tenant_id is not None and user.tenant_id != tenant_id):
            raise UserNotFound(f"no user {user_id!r}")
        return user

    def user_by_email(self, email: str, tenant_id: str | None = None) -> User:
        user = self.identities.get_user_by_email(email.strip())
        if user is None or (tenant_id is not None and user.tenant_id != tenant_id):
            raise UserNotFound(f"no user {email!r}")
        return user

    def update_user(self, actor: Actor, user_id: str, *, role: str | None = None,
                    disabled: bool | None = None, password: str | None = None) -> User:
        target = self.user(user_id, actor.tenant_id)
        if role is not None and role not in ROLES:
            raise BadRequest(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if target.id == actor.user_id and (disabled or (role is not None and role != "admin")):
            raise Forbidden("admins cannot disable or demote themselves")
        if password is not None:
            self.check_password(password)
        self.identities.update_user(target.id, role=role, disabled=disabled,
                                    password_hash=cred.hash_password(password) if password else None,
                                    now=time.time())
        return self.user(user_id)

    def change_password(self, user_id: str, current: str, new: str) -> None:
        user = self.user(user_id)
        if not cred.verify_password(user.password_hash, current):
            raise InvalidCredentials("the current password is wrong")
        self.check_password(new)
        self.identities.update_user(user.id, password_hash=cred.hash_password(new), now=time.time())

    # -- sessions ------------------------------------------------------------------------------------------------
    def login(self, email: str, password: str) -> Session:
        user = self.identities.get_user_by_email(email.strip())
        ok = cred.verify_password(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled:
            raise InvalidCredentials("wrong e-mail or password, or the account is disabled")
        if cred.needs_rehash(user.password_hash):
            self.identities.update_user(user.id, password_hash=cred.hash_password(password), now=time.time())
        return self._session(user, family=uuid.uuid4().hex)

    def _session(self, user: User, family: str) -> Session:
        now = time.time()
        refresh = cred.new_refresh_token()
        self.identities.add_refresh(cred.digest(refresh), user.id, family,
                                    now + self.settings.refresh_token_days * 86400, now)
        return Session(self.signer.issue(user.id, user.tenant_id, user.role), refresh, int(self.signer.ttl), user)

    def refresh(self, refresh_token: str) -> Session:
        used = self.identities.use_refresh(cred.digest(refresh_token), time.time())
        if used is None:
            raise InvalidCredentials("the refresh token is unknown, expired, revoked or already used")
        user = self.identities.get_user(used[0])
        if user is None or user.disabled:
            raise InvalidCredentials("the account is disabled")
        return self._session(user, family=used[1])

    def logout(self, refresh_token: str) -> None:
        self.identities.revoke_refresh(cred.digest(refresh_token), time.time())

    # -- authentication ------------------------------------------------------------------------------------------
    def authenticate(self, bearer: str | None, api_key: str | None = None) -> Actor:
        """The actor behind an ``Authorization: Bearer`` value (access token or API key) or an ``X-API-Key``."""
        token = api_key or bearer
        if not token:
            raise Unauthorized("sign in (POST /api/v1/auth/login) or send an API key")
        if token.startswith(cred.KEY_PREFIX):
            return self._key_actor(token)
        claims = self.signer.check(token)
        user = self.identities.get_user(str(claims["sub"]))
        if user is None or user.disabled:
            raise Unauthorized("the account no longer exists or is disabled")
        # The role and tenant come from the database, not the token: a demotion takes effect at once.
        return Actor(user.id, user.email, user.role, user.tenant_id, tuple(user.groups))  # type: ignore[arg-type]

    def _key_actor(self, key: str) -> Actor:
        prefix = cred.parse_api_key(key)
        stored = self.identities.get_key_by_prefix(prefix) if prefix else None
        if stored is None or not cred.key_matches(key, stored.secret_hash):
            raise Unauthorized("unknown API key")
        now = time.time()
        if stored.revoked_at is not None:
            raise Unauthorized("this API key has been revoked")
        if stored.expires_at is not None and stored.expires_at < now:
            raise Unauthorized("this API key has expired")
        user = self.identities.get_user(stored.user_id)
        if user is None or user.disabled:
            raise Unauthorized("the key's owner is disabled")
        self.identities.touch_key(stored.id, now)
        role = stored.role if stored.role in KEY_ROLES.get(user.role, frozenset()) else "viewer"
        scopes = frozenset(stored.scopes) if stored.scopes is not None else None
        return Actor(user.id, user.email, role, user.tenant_id, tuple(user.groups),  # type: ignore[arg-type]
                     key_id=stored.id, scopes=scopes)

    # -- API keys ------------------------------------------------------------------------------------------------
    def create_key(self, owner: User, *, name: str = "", role: str | None = None,
                   expires_days: float | None = None, scopes: list[str] | None = None) -> tuple[ApiKey, str]:
        role = role or ("api_user" if owner.role in ("admin", "user", "api_user") else owner.role)
        if role not in KEY_ROLES.get(owner.role, frozenset()):
            raise Forbidden(f"a {owner.role} cannot create a key with role {role!r}")
        if scopes is not None:
            unknown = sorted(set(scopes) - set(ACTIONS))
            if unknown:
                raise BadRequest(f"unknown scopes {unknown}; use {', '.join(ACTIONS)}")
        if expires_days is not None and not 0 < expires_days <= 3650:
            raise BadRequest("expires_days must be between 0 and 3650")
        now = time.time()
        new = cred.new_api_key()
        key = ApiKey("k_" + uuid.uuid4().hex[:20], new.prefix, owner.id, owner.email, owner.tenant_id, name[:100],
                     role, sorted(set(scopes)) if scopes is not None else None, now,
                     now + expires_days * 86400 if expires_days else None, secret_hash=new.secret_hash)
        self.identities.add_key(key)
        return key, new.key

    def revoke_key(self, actor: Actor, key_id: str) -> ApiKey:
        key = self.identities.get_key(key_id)
        mine = key is not None and key.user_id == actor.user_id
        if key is None or key.tenant_id != actor.tenant_id or not (mine or actor.is_admin):
            raise ApiKeyNotFound(f"no API key {key_id!r}")
        self.identities.revoke_key(key_id, time.time())
        return self.identities.get_key(key_id) or key

    def find_key(self, ref: str) -> ApiKey:
        """A key by id or by its visible prefix (CLI)."""
        key = self.identities.get_key(ref) or self.identities.get_key_by_prefix(ref.removeprefix(cred.KEY_PREFIX))
        if key is None:
            raise ApiKeyNotFound(f"no API key {ref!r}")
        return key


def user_out(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "role": user.role, "tenant": user.tenant_id,
            "disabled": user.disabled, "created_at": user.created_at, "groups": list(user.groups)}


def key_out(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "prefix": f"{cred.KEY_PREFIX}{key.prefix}", "name": key.name, "role": key.role,
            "scopes": key.scopes, "user_id": key.user_id, "email": key.email, "created_at": key.created_at,
            "expires_at": key.expires_at, "revoked_at": key.revoked_at, "last_used_at": key.last_used_at}
