"""``ragd worker``: a Celery worker process running ragd's ingestion, on any machine that reaches the store and the
broker (docs/workers.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from ragd.cli.common import DataDirOpt, console_err, run_guarded, settings_for
from ragd.models import JOB_QUEUES


def worker(
    concurrency: Annotated[int, typer.Option(
        "--concurrency", "-c", min=1, max=64, help="Tasks run at once by this process (pool threads or "
        "processes). The embedding model already uses every core for one batch: add processes or machines "
        "rather than threads.")] = 1,
    queues: Annotated[str, typer.Option(
        "--queues", "-Q", help="Job queues consumed, comma-separated: interactive, bulk.")] = ",".join(JOB_QUEUES),
    pool: Annotated[str, typer.Option(
        "--pool", "-P", help="threads (one model per process, shared), solo (one task at a time, in the main "
        "thread) or prefork (a child process per slot, each with its own model; enforces task time limits).")]
    = "threads",
    metrics_port: Annotated[int | None, typer.Option(
        "--metrics-port", min=1, max=65535, help="Serve this worker's Prometheus metrics on this port.")] = None,
    metrics_host: Annotated[str, typer.Option("--metrics-host", help="Address of the metrics endpoint.")]
    = "0.0.0.0",
    loglevel: Annotated[str | None, typer.Option(
        "--loglevel", "-l", help="debug, info, warning or error (default: RAGD_LOGGING__LEVEL).")] = None,
    hostname: Annotated[str | None, typer.Option(
        "--hostname", "-n", help="Celery node name (default ragd-PID@HOST).")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Run ingestion jobs from the broker (RAGD_JOBS__BROKER_URL) until SIGTERM (warm shutdown: running tasks
    finish first)."""
    from ragd.jobs.runner import POOLS, WorkerOptions, run_worker

    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    bad = [q for q in chosen if q not in JOB_QUEUES]
    if not chosen or bad:
        console_err.print(f"error [validation_error]: --queues takes {', '.join(JOB_QUEUES)} (comma-separated), "
                          f"not {queues!r}", highlight=False, markup=False)
        raise typer.Exit(2)
    if pool not in POOLS:
        console_err.print(f"error [validation_error]: --pool must be one of {', '.join(POOLS)}, not {pool!r}",
                          highlight=False, markup=False)
        raise typer.Exit(2)
    if loglevel is not None and loglevel.lower() not in ("debug", "info", "warning", "error"):
        console_err.print(f"error [validation_error]: --loglevel must be debug, info, warning or error, not "
                          f"{loglevel!r}", highlight=False, markup=False)
        raise typer.Exit(2)
    code = 0

    def _run() -> None:
        nonlocal code
        settings = settings_for(data_dir)
        if settings.jobs.broker_url is None:
            console_err.print(
                "error [configuration_error]: `ragd worker` needs a broker: set RAGD_JOBS__BROKER_URL to "
                "amqp://user:password@host:5672// (RabbitMQ) or redis://host:6379/0 (docs/workers.md). Without "
                "one, ragd runs ingestion inside `ragd serve` (embedded mode) and needs no worker.",
                highlight=False, markup=False)
            raise typer.Exit(2)
        level = (loglevel or settings.logging.level).lower()
        code = run_worker(settings, WorkerOptions(
            queues=tuple(dict.fromkeys(chosen)), concurrency=concurrency, pool=pool, metrics_port=metrics_port,
            metrics_host=metrics_host, loglevel=level, hostname=hostname))

    run_guarded(_run)
    if code:
        raise typer.Exit(code)
