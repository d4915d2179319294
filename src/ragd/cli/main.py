"""The ``ragd`` command."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ragd.cli import audit, crypto, documents, evaluate, ingest, ops, sync, users, worker
from ragd.cli.common import DataDirOpt, console_err, open_ragd, run_guarded, settings_for
from ragd.config import export_for_workers
from ragd.models import SearchFilters

app = typer.Typer(help="ragd: cited answers from your own documents, offline.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def _logging(
    env_file: Annotated[Path | None, typer.Option(
        "--env-file", help="Read settings from this file instead of ./.env (RAGD_ENV_FILE; the environment still "
        "beats it).", dir_okay=False)] = None,
) -> None:
    """Every command logs to stderr (stdout carries only results, e.g. ``--json``) and creates files private to
    its user (umask 077: docs/security.md, "Files at rest")."""
    from ragd.config import use_env_file
    from ragd.observability.logging import configure_logging
    from ragd.security.filemodes import restrict_umask

    restrict_umask()
    configure_logging()
    if env_file is not None:
        if not env_file.is_file():
            console_err.print(f"error [configuration_error]: --env-file {env_file}: no such file", soft_wrap=True,
                              highlight=False, markup=False)
            raise typer.Exit(1)
        use_env_file(env_file)


app.add_typer(documents.app, name="documents")
app.command("ingest")(ingest.ingest)
app.command("sync")(sync.sync)
app.command("eval")(evaluate.evaluate)
app.command("backup")(ops.backup)
app.command("restore")(ops.restore)
app.command("doctor")(ops.doctor)
app.command("migrate")(ops.migrate)
app.add_typer(ops.config_app, name="config")
app.add_typer(crypto.app, name="crypto")
app.add_typer(users.users_app, name="users")
app.add_typer(users.keys_app, name="keys")
app.add_typer(audit.app, name="audit")
app.command("purge")(audit.purge)
app.command("worker")(worker.worker)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (RAGD_SERVER__HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (RAGD_SERVER__PORT).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Worker processes (RAGD_SERVER__WORKERS).")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Start the HTTP server (API at /api/v1, OpenAPI docs at /docs)."""
    import uvicorn

    from ragd.api.app import create_app
    from ragd.security.filemodes import private_dir

    def _run() -> None:
        settings = settings_for(data_dir)
        h = host or settings.server.host
        p = port or settings.server.port
        console_err.print(f"ragd serving {settings.data_dir.resolve()} on http://{h}:{p} (docs at /docs)")
        if not settings.auth.enabled:
            console_err.print(
                "[bold red]WARNING: authentication is OFF (RAGD_AUTH__ENABLED=false): anyone who can reach "
                f"http://{h}:{p} acts as an administrator. Use this only for a single user on this machine.[/]"
            )
        n = workers or settings.server.workers
        # the database first: an unreachable PostgreSQL (or a schema newer than this ragd) is one clear line naming
        # the URL, password masked, and exit code 1, before any server process starts; migrations run here once
        from ragd.core import require_shared_secrets
        from ragd.store.backend import open_backend

        require_shared_secrets(settings)
        open_backend(settings.store_url).close()
        # Forwarded headers only from configured proxies (uvicorn's own default believes 127.0.0.1).
        trusted = ",".join(settings.server.trusted_proxies) or None
        if n == 1:
            uvicorn.run(create_app(settings), host=h, port=p, log_level="info", proxy_headers=trusted is not None,
                        forwarded_allow_ips=trusted)
            return
        settings.server.workers = n
        if not settings.metrics.multiproc_dir:
            shared = settings.data_dir / "prometheus-multiproc"
            shutil.rmtree(shared, ignore_errors=True)  # counters of processes from an earlier run
            private_dir(shared)
            settings.metrics.multiproc_dir = str(shared)
        export_for_workers(settings)
        uvicorn.run("ragd.api.app:create_app", factory=True, host=h, port=p, workers=n, log_level="info",
                    proxy_headers=trusted is not None, forwarded_allow_ips=trusted)

    run_guarded(_run)


@app.command()
def query(
    question: Annotated[str, typer.Argument(help="The question.")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100)] = 5,
    mode: Annotated[str, typer.Option(help="hybrid, bm25 or dense.")] = "hybrid",
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Ask a question; prints the cited answer and the passages it comes from."""
    if mode not in ("hybrid", "bm25", "dense"):
        console_err.print(f"error [validation_error]: --mode must be hybrid, bm25 or dense, not {mode!r}")
        raise typer.Exit(2)

    def _run() -> None:
        with open_ragd(data_dir) as r:
            filters = SearchFilters(collections=[collection]) if collection else None
            res = r.query(question, top_k=top_k, filters=filters, mode=mode)  # type: ignore[arg-type]
            _print_result(question, res, as_json)

    run_guarded(_run)


def _print_result(question: str, res, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    from ragd.api.schemas import CitationOut, ResultOut

    ans = res.answer
    if as_json:
        body = {
            "query": question,
            "answer": ans.text if ans else None,
            "found": bool(ans and ans.found),
            "citations": [CitationOut.of(c).model_dump() for c in (ans.citations if ans else [])],
            "results": [ResultOut.of(h).model_dump() for h in res.retrieval.hits],
            "timings_ms": res.timings_ms,
        }
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        return
    out = Console()
    out.print(f"[bold]{ans.text if ans else ''}[/bold]\n")
    for c in ans.citations if ans else []:
        page = f", page {c.page}" if c.page else ""
        out.print(f"  [{c.marker}] {c.filename}{page}: {c.text[:160]}")
    out.print("\n[dim]Passages:[/dim]")
    for i, h in enumerate(res.retrieval.hits, 1):
        page = f" p.{h.chunk.page_start}" if h.chunk.page_start else ""
        snippet = " ".join(h.chunk.text.split())[:140]
        out.print(f"  {i}. {h.chunk.filename}{page} ({h.score:.4f}) {snippet}")


@app.command()
def reindex(data_dir: DataDirOpt = None) -> None:
    """Re-process every document (after a model or chunking change) and rebuild the dense index. In broker mode
    the `ragd worker` processes re-process them (bulk queue) while this command shows the progress."""

    def _run() -> None:
        with open_ragd(data_dir, allow_model_change=True) as r:
            n = r.reindex_all()
            if r.mode == "celery":  # `ragd worker` processes run the bulk queue
                ingest.wait_queue_with_progress(r, "bulk", n)
            else:
                ingest.drain_with_progress(r, n)
            console_err.print(f"re-indexed {n} documents; {r.rebuild_index()} vectors in the dense index")

    run_guarded(_run)


def main() -> None:
    from ragd.security.filemodes import restrict_umask

    restrict_umask()
    app()


if __name__ == "__main__":
    main()
