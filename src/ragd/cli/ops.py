"""``ragd backup``, ``ragd restore``, ``ragd doctor`` and ``ragd config show|docs``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ragd.cli.common import DataDirOpt, console_err, run_guarded, settings_for

config_app = typer.Typer(help="Show the effective configuration or regenerate its reference.",
                         no_args_is_help=True)


def backup(
    path: Annotated[Path, typer.Argument(help="Archive to write: NAME.tar.gz (or .tgz) or NAME.zip.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Write a consistent backup (SQLite online snapshot and original files, or for PostgreSQL a pg_dump of ragd's
    schema with the originals; index metadata; manifest with sha256 checksums). Safe while `ragd serve` runs."""
    from ragd.ops.backup import create_backup

    def _run() -> None:
        res = create_backup(settings_for(data_dir), path)
        console_err.print(f"backup {res.path}: {res.documents} documents, {res.chunks} chunks, {res.files} files, "
                          f"{res.size} bytes in {res.took_ms:.0f} ms", highlight=False)
        for doc_id in res.missing_files:
            console_err.print(f"  [yellow]original of {doc_id} was not stored[/yellow]", highlight=False)

    run_guarded(_run)


def restore(
    path: Annotated[Path, typer.Argument(help="Backup archive written by `ragd backup` or the admin API.")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Empty or new directory to restore into.")],
) -> None:
    """Verify every checksum of a backup, restore it into an empty data directory and rebuild its dense index.
    A backup of a PostgreSQL store is restored (pg_restore) into the empty database RAGD_STORE__URL names."""
    from ragd.ops.backup import engine, restore_backup
    from ragd.store.url import masked

    def _run() -> None:
        url = settings_for(data_dir).store.url or None  # only an explicit RAGD_STORE__URL names a database
        res = restore_backup(path, data_dir, url)
        store = res["store"]
        if engine(res) == "postgresql":
            console_err.print(f"restored {store['documents']} documents, {store['chunks']} chunks, "
                              f"{store['originals']} originals into {masked(url or '')} (schema {store['schema']}); "
                              "each replica rebuilds its dense index when it starts", highlight=False)
            return
        console_err.print(f"restored {store['documents']} documents, {store['chunks']} chunks into {data_dir}; "
                          f"dense index rebuilt ({res['vectors']} vectors)", highlight=False)

    run_guarded(_run)


def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="Rebuild what can be rebuilt, then check again.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Check that the store, the dense and lexical indexes and the stored files agree. Exit code 1 when
    differences remain."""
    from ragd.ops.doctor import run_doctor

    report: dict = {}

    def _run() -> None:
        report.update(run_doctor(settings_for(data_dir), repair=repair))

    run_guarded(_run)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        t = Table("check", "differences", "detail")
        for c in report["checks"]:
            mark = "[green]ok[/green]" if c["ok"] else f"[red]{c['differences']}[/red]"
            t.add_row(c["check"], mark, c["detail"])
        Console().print(t)
        for c in report["checks"]:
            for item in c["items"]:
                Console().print(f"  {c['check']}: {item}", highlight=False)
        for line in report["repaired"]:
            Console().print(f"repaired: {line}", highlight=False)
        Console().print(f"{report['differences']} differences")
    if not report["ok"]:
        raise typer.Exit(1)


@config_app.command("show")
def config_show(
    fmt: Annotated[str, typer.Option("--format", help="json or yaml.")] = "json",
    data_dir: DataDirOpt = None,
) -> None:
    """Print the effective configuration (defaults, the .env file, the RAGD_* environment), secrets masked."""
    from ragd.config_docs import effective_config, to_yaml

    if fmt not in ("json", "yaml"):
        console_err.print(f"error [validation_error]: --format must be json or yaml, not {fmt!r}")
        raise typer.Exit(2)

    def _run() -> None:
        data = effective_config(settings_for(data_dir))
        sys.stdout.write((json.dumps(data, indent=2) if fmt == "json" else to_yaml(data)) + "\n")

    run_guarded(_run)


@config_app.command("docs")
def config_docs(
    output: Annotated[Path | None, typer.Option(help="Write here (e.g. docs/configuration.md), else stdout.")] = None,
) -> None:
    """Generate the configuration reference (Markdown) from the settings model."""
    from ragd.config_docs import render_markdown, rows

    text = render_markdown()
    if output:
        output.write_text(text, encoding="utf-8")
        console_err.print(f"wrote {output} ({len(list(rows()))} settings)")
    else:
        sys.stdout.write(text)


def migrate(
    check: Annotated[bool, typer.Option("--check", help="Apply nothing: exit 1 when migrations are pending.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Create or upgrade the store's schema (SQLite file or PostgreSQL database: RAGD_STORE__URL). Servers migrate
    at start-up too; run this first to upgrade before a rolling update, or with --check in a deployment pipeline."""
    from ragd.store.backend import open_backend
    from ragd.store.url import masked

    pending: list[int] = []

    def _run() -> None:
        settings = settings_for(data_dir)
        backend = open_backend(settings.store_url, migrate=False)
        try:
            before, latest = backend.schema_status()
            where = f"{backend.engine} store {masked(settings.store_url)}"
            if check:
                if before < latest:
                    pending.append(latest - before)
                    sys.stdout.write(f"{where}: schema version {before}, {latest - before} migration(s) pending\n")
                else:
                    sys.stdout.write(f"{where}: schema version {before}, up to date\n")
                return
            ran = backend.migrate()
            sys.stdout.write(f"{where}: schema version {latest} ({ran} migration(s) applied)\n")
        finally:
            backend.close()

    run_guarded(_run)
    if pending:
        raise typer.Exit(1)
