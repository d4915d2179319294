"""May this actor read or write this collection? (:class:`AccessService`)

Documents live in collections inside a tenant; a document's permissions are its collection's. Every read path
turns the caller into a *scope* — their tenant and the collections they may read — that goes into the store query
as :attr:`SearchFilters.tenant_id`/:attr:`SearchFilters.readable`, so nobody is handed a chunk, a document or a
count they may not read, and top-k is never starved by trimming afterwards.

The tenant's default collection (setting ``default_collection``) is the shared space of a tenant: created on first
use with tenant-wide write access and owned by the tenant (:data:`~ragd.auth.identities.TENANT_OWNER`), not by whoever
uploaded first, so only the tenant's admins may change its sharing or redaction, or delete it; no member may create
it under its reserved name. Other collections are created private to their owner and shared with
:meth:`AccessService.share`.

Redaction set per collection may only add to the operator's ``privacy`` settings: a collection cannot switch off
what ``RAGD_PRIVACY__REDACT_*`` switched on (:meth:`AccessService.set_privacy`).
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from ragd.auth.actor import Actor
from ragd.auth.identities import TENANT_OWNER, Access, Collection, Grant, IdentityStore
from ragd.auth.policy import allowed, authorize, cap_access
from ragd.config import PrivacySettings
from ragd.errors import BadRequest, CollectionNotFound, DocumentNotFound, Forbidden, UserNotFound
from ragd.models import Document, SearchFilters
from ragd.privacy.apply import effective

_NAME = re.compile(r"^[\w.\- ]{1,200}$")
NO_DOCUMENT = "no such document"
"""The one detail of every "absent, another tenant's, or not readable" answer about a document id."""


@dataclass(frozen=True, slots=True)
class Scope:
    tenant_id: str
    readable: list[str] | None
    """``None``: every collection of the tenant (admins)."""

    def filters(self, base: SearchFilters | None = None) -> SearchFilters:
        return dataclasses.replace(base or SearchFilters(), tenant_id=self.tenant_id, readable=self.readable)


class AccessService:
    def __init__(self, identities: IdentityStore, default_collection: str,
                 privacy: PrivacySettings | None = None) -> None:
        self.identities = identities
        self.default_collection = default_collection
        self.privacy = privacy or PrivacySettings()

    # -- reading -------------------------------------------------------------------------------------------------
    def access_map(self, actor: Actor) -> dict[str, Access] | None:
        """Collection → access for ``actor``; ``None`` for admins (write on every collection of their tenant)."""
        if actor.is_admin:
            return None
        raw = self.identities.collection_access(actor.tenant_id, actor.user_id)
        return {name: cap_access(actor, a) for name, a in raw.items()}  # type: ignore[misc]

    def scope(self, actor: Actor) -> Scope:
        authorize(actor, "documents:read")
        amap = self.access_map(actor)
        return Scope(actor.tenant_id, None if amap is None else sorted(amap))

    def filters(self, actor: Actor, base: SearchFilters | None = None) -> SearchFilters:
        return self.scope(actor).filters(base)

    def access(self, actor: Actor, collection: str) -> Access | None:
        amap = self.access_map(actor)
        if amap is None:
            return cap_access(actor, "write")  # type: ignore[return-value]
        return amap.get(collection)

    def check_document(self, actor: Actor, doc: Document | None, *, write: bool = False) -> Document:
        """``doc`` if the actor may read (or write) it. Another tenant's or an unreadable document is reported as
        absent, with the same code and detail, so ids cannot be probed."""
        access = None if doc is None or doc.tenant_id != actor.tenant_id else self.access(actor, doc.collection)
        if doc is None or access is None:
            raise DocumentNotFound(NO_DOCUMENT)
        if write:
            authorize(actor, "documents:write")
            if access != "write":
                raise Forbidden(f"no write access to collection {doc.collection!r}")
        return doc

    # -- writing -------------------------------------------------------------------------------------------------
    def writable_collection(self, actor: Actor, name: str | None) -> str:
        """The collection an upload goes to, created on first use: the tenant's shared default collection (owned by
        the tenant), or a new private one owned by the actor (who needs ``collections:manage``)."""
        authorize(actor, "documents:write")
        name = (name or self.default_collection).strip()
        if not _NAME.match(name):
            raise BadRequest("a collection name is 1-200 letters, digits, spaces, '.', '_' or '-'")
        existing = self.identities.get_collection(actor.tenant_id, name)
        if existing is None:
            if name == self.default_collection:
                self._create(actor, name, "write", owner=TENANT_OWNER)
            elif allowed(actor, "collections:manage"):
                self._create(actor, name, None)
            else:
                raise CollectionNotFound(f"no collection {name!r}")
        access = self.access(actor, name)
        if access is None:
            raise CollectionNotFound(f"no collection {name!r}")
        if access != "write":
            raise Forbidden(f"no write access to collection {name!r}")
        return name

    def _create(self, actor: Actor, name: str, tenant_access: Access | None, *, owner: str | None = None
                ) -> Collection:
        coll = Collection(actor.tenant_id, name, owner or actor.user_id, tenant_access, time.time())
        try:
            return self.identities.add_collection(coll)
        except Exception:
            found = self.identities.get_collection(actor.tenant_id, name)  # created meanwhile by someone else
            if found is None:
                raise
            return found

    # -- managing ------------------------------------------------------------------------------------------------
    def create(self, actor: Actor, name: str, tenant_access: Access | None = None) -> Collection:
        """A new collection owned by the actor; the default collection's name is reserved for the tenant: only an
        admin may create it, and it is then the tenant's."""
        authorize(actor, "collections:manage")
        name = name.strip()
        if not _NAME.match(name):
            raise BadRequest("a collection name is 1-200 letters, digits, spaces, '.', '_' or '-'")
        owner = actor.user_id
        if self.tenant_owned(name):
            if not actor.is_admin:
                raise Forbidden(f"{name!r} is the tenant's shared collection: it is created by the first upload, "
                                "or by a tenant admin")
            owner = TENANT_OWNER
        return self.identities.add_collection(Collection(actor.tenant_id, name, owner, tenant_access, time.time()))

    def tenant_owned(self, name: str, coll: Collection | None = None) -> bool:
        """Whether the collection belongs to the tenant (its admins) rather than to one member: the default
        collection, whoever is recorded as its owner (a database from before ``_m008`` under another
        ``default_collection``), and any collection recorded as the tenant's."""
        return name == self.default_collection or (coll is not None and coll.tenant_owned)

    def get(self, actor: Actor, name: str) -> Collection:
        coll = self.identities.get_collection(actor.tenant_id, name)
        if coll is None or self.access(actor, name) is None:
            raise CollectionNotFound(f"no collection {name!r}")
        return coll

    def list(self, actor: Actor) -> list[Collection]:
        amap = self.access_map(actor)
        return [c for c in self.identities.list_collections(actor.tenant_id) if amap is None or c.name in amap]

    def _managed(self, actor: Actor, name: str) -> Collection:
        """The collection if ``actor`` may change it (its owner, or an admin); Forbidden / not found otherwise."""
        coll = self.get(actor, name)
        authorize(actor, "collections:manage")
        if actor.is_admin:
            return coll
        if self.tenant_owned(name, coll):
            raise Forbidden(f"collection {name!r} belongs to the tenant: only a tenant admin may change it")
        if coll.owner_id != actor.user_id:
            raise Forbidden(f"only the owner or an admin may change collection {name!r}")
        return coll

    def share(self, actor: Actor, name: str, grants: list[dict[str, Any]],
              tenant_access: Access | Literal["keep"] | None = "keep") -> Collection:
        """Replace the collection's grants. ``grants``: ``{"principal_type", "principal", "access"}`` where the
        principal is an e-mail (users) or a group name, both of the actor's tenant."""
        coll = self._managed(actor, name)
        resolved: list[Grant] = []
        for g in grants:
            kind, principal, access = g.get("principal_type"), str(g.get("principal", "")), g.get("access")
            if access not in ("read", "write"):
                raise BadRequest("a grant's access is 'read' or 'write'")
            if kind == "user":
                user = self.identities.get_user_by_email(principal)
                if user is None or user.tenant_id != actor.tenant_id:
                    raise UserNotFound(f"no user {principal!r} in this tenant")
                resolved.append(Grant("user", user.id, access, user.email))
            elif kind == "group":
                group = self.identities.get_group(actor.tenant_id, principal)
                if group is None:
                    raise BadRequest(f"no group {principal!r} in this tenant")
                resolved.append(Grant("group", group.id, access, group.name))
            else:
                raise BadRequest("a grant's principal_type is 'user' or 'group'")
        self.identities.update_collection(coll.tenant_id, coll.name, tenant_access=tenant_access, grants=resolved)
        return self.get(actor, name)

    def set_privacy(self, actor: Actor, name: str, *, redact_ingest: bool | None,
                    redact_answers: bool | None) -> Collection:
        """Per-collection PII redaction (owner or admin); ``None`` follows the global ``privacy`` settings. A
        collection may only add redaction: ``False`` where the operator switched it on is refused (a silent no-op
        would let the owner believe their text is shown as is)."""
        coll = self._managed(actor, name)
        for value, on, setting in ((redact_ingest, self.privacy.redact_ingest, "RAGD_PRIVACY__REDACT_INGEST"),
                                   (redact_answers, self.privacy.redact_answers, "RAGD_PRIVACY__REDACT_ANSWERS")):
            if value is False and on:
                raise Forbidden(f"the operator redacts personal data on this server ({setting}=true): a "
                                "collection may add redaction, never switch it off")
        self.identities.set_collection_privacy(coll.tenant_id, coll.name, redact_ingest=redact_ingest,
                                               redact_answers=redact_answers)
        return self.get(actor, name)

    def delete(self, actor: Actor, name: str) -> Collection:
        """Check that ``actor`` may delete the collection, then delete its row and grants (joining the caller's
        unit of work: :meth:`ragd.core.Ragd.delete_collection` deletes its documents in the same one)."""
        coll = self._managed(actor, name)
        self.identities.delete_collection(coll.tenant_id, coll.name)
        return coll


def collection_out(coll: Collection, access: str | None, documents: int | None = None,
                   privacy: PrivacySettings | None = None) -> dict[str, Any]:
    """The API form; ``owner`` is the owner's e-mail, or ``None`` for a collection the tenant owns."""
    p = privacy or PrivacySettings()
    return {
        "name": coll.name, "owner": None if coll.tenant_owned else coll.owner_email,
        "tenant_owned": coll.tenant_owned, "tenant_access": coll.tenant_access,
        "grants": [{"principal_type": g.principal_type, "principal": g.principal, "access": g.access}
                   for g in coll.grants],
        "access": access, "documents": documents, "created_at": coll.created_at,
        "redact_ingest": coll.redact_ingest, "redact_answers": coll.redact_answers,
        "effective_redact_ingest": effective(coll.redact_ingest, p.redact_ingest),
        "effective_redact_answers": effective(coll.redact_answers, p.redact_answers),
    }
