"""``ragd audit verify|list|public-key|generate-key`` and ``ragd purge`` (retention). See docs/audit.md."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ragd.cli.common import DataDirOpt, console_err, run_guarded, settings_for
from ragd.errors import ValidationFailed

app = typer.Typer(
    help="The signed audit trail: verify the chain, list entries, show or make the key.", no_args_is_help=True
)


@app.command()
def verify(
    public_key: Annotated[
        list[str] | None,
        typer.Option(
            "--public-key",
            help="Trust this base64 Ed25519 public key instead of the data directory's "
            "key (repeat for rotated keys); the private key is then not needed.",
        ),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Check every entry's hash, its link to the previous entry and its signature. Exit 0 and "ok, N entries",
    or exit 1 naming the first bad entry and why."""
    from ragd.audit import load_signer
    from ragd.audit.signing import public_key_from_b64
    from ragd.store.backend import open_backend

    result = {}

    def _run() -> None:
        settings = settings_for(data_dir)
        if public_key:
            try:
                keys = [public_key_from_b64(k) for k in public_key]
            except ValueError as exc:
                raise ValidationFailed(f"--public-key: {exc}") from exc
            signer = None
        else:
            signer = load_signer(settings)
        backend = open_backend(settings.store_url)
        try:
            log = backend.audit_log(signer)
            if signer is not None:
                keys = [log.public_key]
            result["r"] = log.verify(keys)
        finally:
            backend.close()

    run_guarded(_run)
    r = result["r"]
    if r.ok:
        sys.stdout.write(f"ok, {r.checked} entries\n")
        return
    sys.stdout.write(
        f"audit chain broken at seq {r.first_bad_seq}: {r.reason} ({r.checked} entries before it are intact)\n"
    )
    raise typer.Exit(1)


@app.command("list")
def list_entries(
    action: Annotated[str | None, typer.Option(help="Exact action, or a prefix ending in * (document.*).")] = None,
    actor: Annotated[str | None, typer.Option(help="User id or e-mail.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: every tenant).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line, newest first.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Show audit entries, newest first."""
    from ragd.store.backend import open_backend

    def _run() -> None:
        settings = settings_for(data_dir)
        backend = open_backend(settings.store_url)
        try:
            entries, total = backend.audit_log(None).list(tenant, action=action, actor=actor, limit=limit,
                                                          offset=offset)
        finally:
            backend.close()
        if as_json:
            for e in entries:
                sys.stdout.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
            return
        t = Table("seq", "time (UTC)", "tenant", "actor", "action", "target", "details", title=f"{total} entries")
        for e in entries:
            when = dt.datetime.fromtimestamp(e.ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
            details = json.dumps(e.details, ensure_ascii=False)
            t.add_row(
                str(e.seq),
                when,
                e.tenant_id,
                e.actor.email if e.actor else "-",
                e.action,
                e.target or "",
                details if len(details) <= 80 else details[:77] + "...",
            )
        Console().print(t)

    run_guarded(_run)


@app.command("public-key")
def public_key_cmd(data_dir: DataDirOpt = None) -> None:
    """Print the public key that verifies this data directory's audit signatures (base64, then PEM)."""
    from ragd.audit import load_signer

    def _run() -> None:
        signer = load_signer(settings_for(data_dir))
        sys.stdout.write(f"{signer.public_key_b64}\n{signer.public_key_pem}")

    run_guarded(_run)


@app.command("generate-key")
def generate_key() -> None:
    """Print a new signing key for RAGD_AUDIT__SIGNING_KEY (base64 of a 32-byte Ed25519 seed)."""
    from ragd.audit.signing import generate_seed_b64

    sys.stdout.write(generate_seed_b64() + "\n")


def purge(data_dir: DataDirOpt = None) -> None:
    """Apply retention (RAGD_AUDIT__CONVERSATION_DAYS, __QUERY_LOG_DAYS, __AUDIT_DAYS): delete older
    conversations, logged questions, feedback and audit entries. The run is itself recorded in the audit log."""
    from ragd.audit import load_signer
    from ragd.audit.retention import run_retention
    from ragd.auth.actor import LOCAL_ACTOR
    from ragd.store.backend import open_backend

    def _run() -> None:
        settings = settings_for(data_dir)
        signer = load_signer(settings)
        backend = open_backend(settings.store_url)
        try:
            report = run_retention(settings.audit, backend.conversations, backend.audit_log(signer),
                                   actor=LOCAL_ACTOR)
        finally:
            backend.close()
        kept = [
            k
            for k, days in (
                ("conversations", settings.audit.conversation_days),
                ("queries", settings.audit.query_log_days),
                ("audit", settings.audit.audit_days),
            )
            if days is None
        ]
        console_err.print(
            f"purged {report.conversations} conversations, {report.queries} logged questions, "
            f"{report.audit_entries} audit entries" + (f"; kept forever: {', '.join(kept)}" if kept else ""),
            highlight=False,
            soft_wrap=True,
        )

    run_guarded(_run)
