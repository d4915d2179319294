"""``ragd users …`` and ``ragd keys …``: accounts and API keys, straight on the data directory.

These commands open only the identity tables (not the embedding model), so they are quick and work while the
server runs (SQLite WAL).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ragd.auth.actor import LOCAL_TENANT, Actor
from ragd.auth.credentials import jwt_secret
from ragd.auth.identities import IdentityStore
from ragd.auth.service import AuthService, key_out, user_out
from ragd.cli.common import DataDirOpt, console_err, run_guarded, settings_for
from ragd.config import Settings
from ragd.errors import BadRequest
from ragd.security.filemodes import private_dir
from ragd.store.backend import Backend, open_backend

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)

EmailOpt = Annotated[str, typer.Option("--email", help="The user's e-mail (their sign-in name).")]
PasswordOpt = Annotated[str, typer.Option("--password", prompt=True,
                                          help="At least RAGD_AUTH__PASSWORD_MIN_LENGTH characters, not a common one.",
                                          hide_input=True, confirmation_prompt=True)]
TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant id (created if new).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
CLI_ACTOR = Actor(user_id="cli", email="cli@localhost", role="admin", tenant_id=LOCAL_TENANT)


@dataclass
class _Ctx:
    settings: Settings
    backend: Backend
    identities: IdentityStore
    auth: AuthService

    def audit(self, action: str, *, tenant_id: str, target: str, details: dict[str, Any]) -> None:
        from ragd.audit.signing import load_signer

        log = self.backend.audit_log(load_signer(self.settings))  # the same database, closed with the backend
        log.append(action, tenant_id=tenant_id, actor=CLI_ACTOR, target=target, details=details)


@contextmanager
def _open(data_dir: Any) -> Iterator[_Ctx]:
    settings = settings_for(data_dir)
    private_dir(settings.data_dir)
    backend = open_backend(settings.store_url)
    try:
        configured = settings.auth.jwt_secret
        secret = jwt_secret(configured.get_secret_value() if configured else None, settings.data_dir)
        identities = backend.identities
        yield _Ctx(settings, backend, identities, AuthService(identities, settings.auth, secret))
    finally:
        backend.close()


def _emit(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(*columns)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in columns))
    Console().print(table)


def _create(email: str, password: str, role: str, tenant: str, data_dir: Any) -> None:
    def _run() -> None:
        with _open(data_dir) as ctx:
            user = ctx.auth.create_user(email, password, role, tenant)
            ctx.audit("user.created", tenant_id=user.tenant_id, target=user.id,
                      details={"email": user.email, "role": role})
            console_err.print(f"created {role} {user.email} in tenant {user.tenant_id} (id {user.id})")

    run_guarded(_run)


@users_app.command("create-admin")
def create_admin(email: EmailOpt, password: PasswordOpt, tenant: TenantOpt = LOCAL_TENANT,
                 data_dir: DataDirOpt = None) -> None:
    """Create an administrator (of the operator tenant `default` unless --tenant is given)."""
    _create(email, password, "admin", tenant, data_dir)


@users_app.command("create")
def create(email: EmailOpt, password: PasswordOpt,
           role: Annotated[str, typer.Option("--role", help="admin, user, api_user or viewer.")] = "user",
           tenant: TenantOpt = LOCAL_TENANT, data_dir: DataDirOpt = None) -> None:
    """Create a user."""
    _create(email, password, role, tenant, data_dir)


@users_app.command("list")
def list_users(tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
               as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """List users."""

    def _run() -> None:
        with _open(data_dir) as ctx:
            users, _ = ctx.identities.list_users(tenant, limit=1_000_000)
            _emit([user_out(u) for u in users], ["email", "role", "tenant", "disabled", "id"], as_json)

    run_guarded(_run)


def _set_disabled(email: str, disabled: bool, data_dir: Any) -> None:
    def _run() -> None:
        with _open(data_dir) as ctx:
            user = ctx.auth.user_by_email(email)
            now = time.time()
            ctx.identities.update_user(user.id, disabled=disabled, now=now)
            ctx.audit("user.updated", tenant_id=user.tenant_id, target=user.id,
                      details={"email": user.email, "disabled": disabled})
            if disabled:  # enabling again must not bring the old sessions back
                ctx.identities.end_sessions(user.id, now)
                ctx.audit("auth.sessions_ended", tenant_id=user.tenant_id, target=user.id,
                          details={"email": user.email, "reason": "disabled"})
            console_err.print(f"{'disabled' if disabled else 'enabled'} {user.email}")

    run_guarded(_run)


@users_app.command("disable")
def disable(email: EmailOpt, data_dir: DataDirOpt = None) -> None:
    """Disable a user: their sign-ins, tokens and API keys stop working at once."""
    _set_disabled(email, True, data_dir)


@users_app.command("enable")
def enable(email: EmailOpt, data_dir: DataDirOpt = None) -> None:
    """Enable a disabled user again."""
    _set_disabled(email, False, data_dir)


@keys_app.command("create")
def create_key(
    email: EmailOpt,
    role: Annotated[str | None, typer.Option("--role", help="The key's role (default api_user).")] = None,
    expires: Annotated[float | None, typer.Option("--expires", help="Days until it expires.")] = None,
    name: Annotated[str, typer.Option("--name", help="A label.")] = "",
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Limit to an action (repeatable).")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create an API key acting as a user. The key is printed once, on stdout; it cannot be shown again."""

    def _run() -> None:
        with _open(data_dir) as ctx:
            owner = ctx.auth.user_by_email(email)
            if expires is not None and expires <= 0:
                raise BadRequest("--expires must be a positive number of days")
            key, secret = ctx.auth.create_key(owner, name=name, role=role, expires_days=expires, scopes=scope)
            ctx.audit("key.created", tenant_id=owner.tenant_id, target=key.id,
                      details={"role": key.role, "owner": owner.email})
            console_err.print(f"API key {key.id} for {owner.email} (role {key.role}); store it now, it is not "
                              "shown again:")
            sys.stdout.write(secret + "\n")

    run_guarded(_run)


@keys_app.command("list")
def list_keys(email: Annotated[str | None, typer.Option("--email", help="Only this user's keys.")] = None,
              as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """List API keys (never the keys themselves: their visible prefix)."""

    def _run() -> None:
        with _open(data_dir) as ctx:
            user_id = ctx.auth.user_by_email(email).id if email else None
            rows = [key_out(k) for k in ctx.identities.list_keys(user_id=user_id)]
            _emit(rows, ["id", "prefix", "email", "role", "name", "expires_at", "revoked_at", "last_used_at"],
                  as_json)

    run_guarded(_run)


@keys_app.command("revoke")
def revoke_key(key: Annotated[str, typer.Argument(help="The key's id or its visible prefix.")],
               data_dir: DataDirOpt = None) -> None:
    """Revoke an API key: it stops working at once."""

    def _run() -> None:
        with _open(data_dir) as ctx:
            found = ctx.auth.find_key(key)
            ctx.identities.revoke_key(found.id, time.time())
            ctx.audit("key.revoked", tenant_id=found.tenant_id, target=found.id, details={"owner": found.email})
            console_err.print(f"revoked {found.id} ({found.email})")

    run_guarded(_run)
