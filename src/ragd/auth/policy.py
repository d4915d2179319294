"""May this actor do this action? Pure functions over :class:`~ragd.auth.actor.Actor`.

Actions, and the roles that hold them:

=====================  =====  ====  ========  ======
action                 admin  user  api_user  viewer
=====================  =====  ====  ========  ======
``query``              yes    yes   yes       yes     search, answers, chat, own conversations and feedback
``documents:read``     yes    yes   yes       yes     list, show, text, page images, download (in readable
                                                      collections only)
``documents:write``    yes    yes   yes       no      upload, re-index, delete (in writable collections only)
``collections:manage`` yes    yes   no        no      create collections, share the ones they own
``keys:own``           yes    yes   no        no      create and revoke their own API keys
``admin``              yes    no    no        no      users, groups, the tenant's keys, audit, feedback, stats,
                                                      evaluation — inside their own tenant only
``ops``                (*)    no    no        no      backup, restore, doctor, index rebuild: the whole instance
=====================  =====  ====  ========  ======

(*) ``ops`` belongs to admins of the operator tenant (``default``, the tenant of ``ragd users create-admin``
without ``--tenant``): those operations span every tenant, so a tenant admin elsewhere must not hold them.

An API key acts with its own role (never above its owner's, checked when it is created) and, when it has scopes,
only for actions listed in them (scopes are action names). Collection access is separate: see
:func:`collection_access` — admins have write access to every collection of their tenant, others what ownership,
grants, group grants and tenant-wide access give them; a viewer's access is capped at read.
"""

from __future__ import annotations

from ragd.auth.actor import LOCAL_TENANT, ROLES, Actor
from ragd.errors import Forbidden

ACTIONS: dict[str, frozenset[str]] = {
    "query": frozenset(ROLES),
    "documents:read": frozenset(ROLES),
    "documents:write": frozenset({"admin", "user", "api_user"}),
    "collections:manage": frozenset({"admin", "user"}),
    "keys:own": frozenset({"admin", "user"}),
    "admin": frozenset({"admin"}),
    "ops": frozenset({"admin"}),
}

#: Which roles an API key may be given, by its owner's role.
KEY_ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(ROLES),
    "user": frozenset({"user", "api_user", "viewer"}),
    "api_user": frozenset({"api_user", "viewer"}),
    "viewer": frozenset({"viewer"}),
}


def allowed(actor: Actor, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if actor.role not in ACTIONS[action]:
        return False
    if action == "ops" and actor.tenant_id != LOCAL_TENANT:
        return False
    return actor.scopes is None or action in actor.scopes


def authorize(actor: Actor, action: str) -> Actor:
    """``actor`` if they may do ``action``, else :class:`~ragd.errors.Forbidden`."""
    if not allowed(actor, action):
        raise Forbidden(f"role {actor.role!r} may not perform {action!r}")
    return actor


def cap_access(actor: Actor, access: str) -> str:
    """A viewer (or a key without ``documents:write``) never writes, whatever the grants say."""
    if access == "write" and not allowed(actor, "documents:write"):
        return "read"
    return access
