"""Who is acting: the :class:`Actor` every authenticated request (or CLI command) carries.

Authentication (:mod:`ragd.auth.service`) turns credentials into an ``Actor``; authorisation
(:mod:`ragd.auth.policy`) decides what that actor may do. Nothing else inspects credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Role = Literal["admin", "user", "api_user", "viewer"]
ROLES: tuple[str, ...] = get_args(Role)

LOCAL_TENANT = "default"
"""The tenant of the local actor (authentication off) and of users created without ``--tenant``."""


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: str
    email: str
    role: Role
    tenant_id: str
    groups: tuple[str, ...] = ()
    key_id: str | None = None
    """Set when the request authenticated with an API key (the key's own role and scopes apply)."""
    scopes: frozenset[str] | None = field(default=None)
    """``None``: every action the role allows; otherwise only these scopes (see :mod:`ragd.auth.policy`)."""

    @property
    def identity(self) -> str:
        """The rate-limit identity: the user, whatever the credential (session or any of their API keys), so that
        minting keys never multiplies a budget."""
        return f"user:{self.user_id}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


LOCAL_ACTOR = Actor(user_id="local", email="local@localhost", role="admin", tenant_id=LOCAL_TENANT)
"""The actor of every request while authentication is disabled (``RAGD_AUTH__ENABLED=false``) and of the CLI."""
