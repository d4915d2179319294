"""``ragd worker``: one Celery worker process running ragd's ingestion (docs/workers.md).

The process builds its ingestion context once (store, embedder, originals: :class:`~ragd.jobs.context.
WorkerContext`; with the ``prefork`` pool each child process builds its own), starts a Celery worker consuming
the chosen queues, a :class:`~ragd.jobs.sweeper.Sweeper` once the worker is ready, and, with a metrics port, a
Prometheus endpoint. SIGTERM (and a first Ctrl-C) is Celery's warm shutdown: the running tasks finish, then the
process exits; a task cut short anyway (a second signal, a kill) is delivered again, since messages are
acknowledged only once their task ended.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ragd.config import Settings
from ragd.models import JOB_QUEUES

log = logging.getLogger(__name__)

POOLS = ("threads", "solo", "prefork")


@dataclass(slots=True)
class WorkerOptions:
    queues: Sequence[str] = JOB_QUEUES
    concurrency: int = 1
    pool: str = "threads"
    metrics_port: int | None = None
    metrics_host: str = "0.0.0.0"
    loglevel: str = "info"
    hostname: str | None = None


def default_hostname() -> str:
    """A node name unique per process (Celery's ``inspect`` and Flower tell workers apart by it)."""
    return f"ragd-{os.getpid()}@{socket.gethostname()}"


def run_worker(settings: Settings, opts: WorkerOptions) -> int:
    """Run until shut down; returns the exit code. ``settings.jobs.broker_url`` must be set."""
    from celery import signals

    from ragd.jobs import tasks
    from ragd.jobs.celery_app import Publisher, broker_label, make_app, queue_name
    from ragd.jobs.context import WorkerContext
    from ragd.jobs.metrics import readiness
    from ragd.jobs.sweeper import Sweeper

    prefix = settings.jobs.queue_prefix
    hostname = opts.hostname or default_hostname()
    prefork = opts.pool == "prefork"
    if prefork and opts.metrics_port:
        # the children's metrics are files in a directory of this process, summed by its endpoint
        shared = settings.data_dir / "worker-metrics" / str(os.getpid())
        shutil.rmtree(shared, ignore_errors=True)
        settings.metrics.multiproc_dir = str(shared)
    app = make_app(settings)
    app.ragd_queues = tuple(opts.queues)  # type: ignore[attr-defined]  # (prefork children build their context)
    ctx: WorkerContext | None = None
    if not prefork:  # the model is loaded once and shared by the pool's threads
        ctx = WorkerContext(settings, queues=opts.queues)
        tasks.install_context(ctx)
        ctx.warm_up()
    status, ready_gauge = readiness()  # (before prefork's multiprocess values are switched on: this process's own)
    stop_metrics = _serve_metrics(settings, status, ctx, opts) if opts.metrics_port else None
    background: dict[str, Any] = {}

    def ready(**_: Any) -> None:
        # after the pool started (prefork: after the fork), so the sweeper's connections stay in this process
        from ragd.store.backend import open_backend

        backend = ctx.backend if ctx is not None else open_backend(settings.store_url)
        background["backend"] = backend
        sweeper = Sweeper(backend.store, Publisher(app, prefix), settings.jobs)
        sweeper.start()
        background["sweeper"] = sweeper
        ready_gauge.set(1)
        log.info("ragd worker %s ready: queues %s on %s, pool %s x %d", hostname,
                 ", ".join(queue_name(prefix, q) for q in opts.queues), broker_label(settings), opts.pool,
                 opts.concurrency)

    def no_celery_logging(**_: Any) -> None:
        return None  # ragd configured logging (JSON or console) for the whole process

    signals.worker_ready.connect(ready, weak=False)
    signals.setup_logging.connect(no_celery_logging, weak=False)
    logging.getLogger().setLevel(opts.loglevel.upper())
    try:
        worker = app.Worker(hostname=hostname, pool_cls=opts.pool, concurrency=opts.concurrency,
                            queues=[queue_name(prefix, q) for q in opts.queues], loglevel=opts.loglevel.upper(),
                            quiet=True)
        worker.start()
        return int(worker.exitcode or 0)
    finally:
        signals.worker_ready.disconnect(ready)
        signals.setup_logging.disconnect(no_celery_logging)
        ready_gauge.set(0)
        if "sweeper" in background:
            background["sweeper"].stop()
        if stop_metrics is not None:
            stop_metrics()
        if prefork and opts.metrics_port:
            shutil.rmtree(settings.metrics.multiproc_dir, ignore_errors=True)
        if ctx is not None:
            tasks.close_context()
        elif "backend" in background:
            background["backend"].close()
        log.info("ragd worker %s stopped", hostname)


def _serve_metrics(settings: Settings, status: Any, ctx: Any, opts: WorkerOptions) -> Any:
    """Start the Prometheus endpoint: the readiness gauge, the process, and the task and pipeline metrics (of this
    process's context; with prefork, every child's, summed from their files). Returns its stop function."""
    from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server

    from ragd.jobs.metrics import Chained

    registry = CollectorRegistry()
    registry.register(Chained(status))
    if ctx is not None:
        registry.register(Chained(ctx.obs.metrics.registry))
    else:  # prefork: the children's metrics are files in the multiprocess directory, summed at scrape time
        from prometheus_client.multiprocess import MultiProcessCollector

        from ragd.observability.metrics import Metrics

        Metrics(settings.metrics)  # switches this process (and the children it forks) to multiprocess values
        MultiProcessCollector(registry, path=settings.metrics.multiproc_dir)
    ProcessCollector(registry=registry)
    server, thread = start_http_server(opts.metrics_port, addr=opts.metrics_host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop
