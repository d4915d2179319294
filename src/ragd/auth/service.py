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
from ragd.auth.passwords import password_weakness
from ragd.auth.policy import ACTIONS, KEY_ROLES
from ragd.config import AuthSettings
from ragd.errors import (
    ApiKeyNotFound,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidCredentials,
    RefreshTokenReused,
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
        """A new user of ``tenant_id``. E-mails are unique across tenants (a person signs in with the e-mail
        alone), so an address taken in *another* tenant cannot be used; the refusal is the same
        ``bad_request`` as a malformed address, so that a tenant admin cannot learn which addresses exist
        elsewhere. A duplicate inside the tenant is a plain ``conflict`` (its admins can list its users)."""
        email = email.strip()
        unusable = BadRequest(f"{email!r} cannot be used as the e-mail of a new account")
        if not _EMAIL.match(email):
            raise unusable
        if role not in ROLES:
            raise BadRequest(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if not _TENANT.match(tenant_id):
            raise BadRequest("a tenant id is 1-63 lowercase letters, digits, '.', '_' or '-'")
        self.check_password(password, email)
        existing = self.identities.get_user_by_email(email)
        if existing is not None:
            if existing.tenant_id == tenant_id:
                raise Conflict(f"a user with e-mail {email!r} already exists in this tenant")
            raise unusable
        now = time.time()
        self.identities.ensure_tenant(tenant_id, now)
        user = User("u_" + uuid.uuid4().hex[:20], email, role, tenant_id, cred.hash_password(password), False, now)
        try:
            return self.identities.add_user(user)
        except Conflict:
            # Taken between the look-up and the insert: by whom decides the answer, as above.
            other = self.identities.get_user_by_email(email)
            if other is not None and other.tenant_id != tenant_id:
                raise unusable from None
            raise

    def check_password(self, password: str, email: str = "") -> None:
        """Length limits, then a strength estimate (zxcvbn, its list of 30,000 common passwords and its
        patterns, the e-mail as a known word): ``auth.password_min_score``."""
        if len(password) < self.settings.password_min_length:
            raise BadRequest(f"a password needs at least {self.settings.password_min_length} characters")
        if len(password) > 1024:
            raise BadRequest("a password has at most 1024 characters")
        weak = password_weakness(password, email, self.settings.password_min_score)
        if weak is not None:
            raise BadRequest(f"this password is too easy to guess: {weak}")

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
                    disabled: bool | None = None, password: str | None = None) -> tuple[User, str | None]:
        """Apply an admin's change; returns the user and, when the change ended the user's sessions (a password
        reset, disabling, a role change), why."""
        target = self.user(user_id, actor.tenant_id)
        if role is not None and role not in ROLES:
            raise BadRequest(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if target.id == actor.user_id and (disabled or (role is not None and role != "admin")):
            raise Forbidden("admins cannot disable or demote themselves")
        if password is not None:
            self.check_password(password, target.email)
        password_hash = cred.hash_password(password) if password else None
        self.identities.update_user(target.id, role=role, disabled=disabled, password_hash=password_hash,
                                    now=time.time())
        reason = ("password_reset" if password else "disabled" if disabled and not target.disabled
                  else "role_changed" if role is not None and role != target.role else None)
        if reason is not None:
            # After the change is stored: a sign-in or refresh that started before this moment cannot survive it.
            self.identities.end_sessions(target.id, time.time())
        return self.user(user_id), reason

    def change_password(self, user_id: str, current: str, new: str) -> Session:
        """Change one's own password: every session of the user ends (other devices sign in again with the new
        password) and the caller gets a fresh one."""
        user = self.user(user_id)
        if not cred.verify_password(user.password_hash, current):
            raise InvalidCredentials("the current password is wrong")
        self.check_password(new, user.email)
        password_hash = cred.hash_password(new)
        self.identities.update_user(user.id, password_hash=password_hash, now=time.time())
        ended = time.time()  # after the new hash is stored: see :meth:`_session`
        self.identities.end_sessions(user.id, ended)
        return self._session(user, family=uuid.uuid4().hex, started=time.time())

    def end_sessions(self, user_id: str) -> int:
        """Sign the user out everywhere: refresh tokens revoked, access tokens refused from now on."""
        return self.identities.end_sessions(user_id, time.time())

    # -- sessions ------------------------------------------------------------------------------------------------
    def login(self, email: str, password: str) -> Session:
        started = time.time()
        user = self.identities.get_user_by_email(email.strip())
        ok = cred.verify_password(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled:
            raise InvalidCredentials("wrong e-mail or password, or the account is disabled")
        if cred.needs_rehash(user.password_hash):
            self.identities.update_user(user.id, password_hash=cred.hash_password(password), now=time.time())
        return self._session(user, family=uuid.uuid4().hex, started=started)

    def _session(self, user: User, family: str, started: float) -> Session:
        """A new session for a sign-in or refresh that began at ``started`` (before the user was read). Its access
        token says so (``iat``) and its refresh token is stored only if the user's sessions were not ended since:
        a password change racing with the sign-in ends it too."""
        refresh = cred.new_refresh_token()
        if not self.identities.add_refresh(cred.digest(refresh), user.id, family,
                                           started + self.settings.refresh_token_days * 86400, started):
            raise InvalidCredentials("the session was ended meanwhile: sign in again")
        return Session(self.signer.issue(user.id, user.tenant_id, user.role, issued_at=started), refresh,
                       int(self.signer.ttl), user)

    def refresh(self, refresh_token: str) -> Session:
        started = time.time()
        used = self.identities.use_refresh(cred.digest(refresh_token), started)
        refused = "the refresh token is unknown, expired, revoked or already used"
        if used is None:
            raise InvalidCredentials(refused)
        if used.replayed:
            raise RefreshTokenReused(refused, user_id=used.user_id)
        user = self.identities.get_user(used.user_id)
        if user is None or user.disabled:
            raise InvalidCredentials("the account is disabled")
        return self._session(user, family=used.family, started=started)

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
        if user.sessions_after is not None and float(claims["iat"]) < user.sessions_after:
            raise Unauthorized("this session has been ended (password change, reset or sign-out): sign in again")
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
    def create_key(self, owner: User, *, creator: Actor | None = None, name: str = "", role: str | None = None,
                   expires_days: float | None = None, scopes: list[str] | None = None) -> tuple[ApiKey, str]:
        """A new key acting as ``owner``. It never exceeds ``owner`` nor ``creator``, the credential asking for it
        (its role, its scopes, its key's expiry, its tenant); ``creator=None`` is the operator's CLI."""
        bound = creator.role if creator is not None else owner.role
        role = role or ("api_user" if bound in ("admin", "user", "api_user") else bound)
        if role not in KEY_ROLES.get(owner.role, frozenset()):
            raise Forbidden(f"a {owner.role} cannot create a key with role {role!r}")
        if scopes is not None:
            unknown = sorted(set(scopes) - set(ACTIONS))
            if unknown:
                raise BadRequest(f"unknown scopes {unknown}; use {', '.join(ACTIONS)}")
        if expires_days is not None and not 0 < expires_days <= 3650:
            raise BadRequest("expires_days must be between 0 and 3650")
        now = time.time()
        expires_at = now + expires_days * 86400 if expires_days else None
        if creator is not None:
            self._within_creator(creator, owner, role, scopes, expires_at)
        new = cred.new_api_key()
        key = ApiKey("k_" + uuid.uuid4().hex[:20], new.prefix, owner.id, owner.email, owner.tenant_id, name[:100],
                     role, sorted(set(scopes)) if scopes is not None else None, now, expires_at,
                     secret_hash=new.secret_hash)
        self.identities.add_key(key)
        return key, new.key

    def _within_creator(self, creator: Actor, owner: User, role: str, scopes: list[str] | None,
                        expires_at: float | None) -> None:
        """:class:`Forbidden` unless a key of ``role``/``scopes``/``expires_at`` stays within ``creator``."""
        if owner.tenant_id != creator.tenant_id:
            raise Forbidden("a key can only be created inside the tenant of the credential creating it")
        if role not in KEY_ROLES.get(creator.role, frozenset()):
            raise Forbidden(f"this credential acts as {creator.role!r} and cannot create a key with role {role!r}")
        if creator.scopes is not None:
            if scopes is None:
                raise Forbidden("this key is limited to scopes "
                                f"{sorted(creator.scopes)}: a key it creates needs scopes among them")
            wider = sorted(set(scopes) - creator.scopes)
            if wider:
                raise Forbidden(f"this key is limited to scopes {sorted(creator.scopes)}: it cannot grant {wider}")
        if creator.key_id is not None:
            parent = self.identities.get_key(creator.key_id)
            limit = parent.expires_at if parent is not None else None
            if limit is not None and (expires_at is None or expires_at > limit):
                raise Forbidden("this key expires at "
                                f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(limit))}: a key it creates "
                                "must expire no later (set expires_days)")

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
