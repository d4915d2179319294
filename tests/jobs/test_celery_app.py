"""The Celery app: its reliability options, the module-level ``app`` that Celery's own tools find
(``celery -A ragd.jobs.celery_app inspect ping``, Flower), and a password never shown."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from tests.jobs.test_tasks import NOTE, done, upload
from tests.jobs.workers import Broker, WorkerProcess, settings_env, wait_until
from tests.support import REPO, Server, free_port

from ragd.config import Settings
from ragd.jobs.celery_app import broker_label, make_app


def test_make_app_options() -> None:
    app = make_app(Settings(jobs={"broker_url": "amqp://ragd:s3cret@mq:5672/ragd", "queue_prefix": "acme",
                                  "task_time_limit_s": 600}))
    c = app.conf
    assert (c.task_acks_late, c.task_reject_on_worker_lost, c.worker_prefetch_multiplier) == (True, True, 1)
    assert c.result_backend is None and c.task_ignore_result
    assert {q.name for q in c.task_queues} == {"acme.interactive", "acme.bulk"}
    assert all(q.durable and q.exchange.name == "acme" for q in c.task_queues)
    assert c.task_default_queue == "acme.interactive" and c.task_default_delivery_mode == "persistent"
    assert c.worker_send_task_events and c.task_send_sent_event and c.broker_connection_retry_on_startup
    assert c.task_publish_retry_policy["max_retries"] <= 3
    assert (c.task_time_limit, c.task_soft_time_limit) == (600, 570)
    assert c.broker_transport_options["confirm_publish"] is True
    assert app.tasks["ragd.ingest"].app is app
    other = make_app(Settings(jobs={"broker_url": "redis://mq:6379/0", "queue_prefix": "beta"}))
    assert other.tasks["ragd.ingest"].app is other  # each app its own task (and settings), none shared
    assert other.tasks["ragd.ingest"].app.ragd_settings.jobs.queue_prefix == "beta"
    label = broker_label(Settings(jobs={"broker_url": "amqp://ragd:s3cret@mq:5672/ragd"}))
    assert label == "amqp://ragd:***@mq:5672/ragd"


def test_the_module_app_needs_a_broker(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-c", "import ragd.jobs.celery_app as m; m.app"],
                         env=settings_env(tmp_path / "data", None), capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "RAGD_JOBS__BROKER_URL is not set" in res.stderr


def celery_cli(broker: Broker, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "celery", "-A", "ragd.jobs.celery_app", *args],
                          env=settings_env(tmp_path / "data", broker), capture_output=True, text=True, timeout=120,
                          cwd=REPO)


def test_celery_inspect_finds_ragd_workers(broker: Broker, worker_factory: Callable[..., WorkerProcess],
                                           tmp_path: Path) -> None:
    worker = worker_factory(broker)
    res = celery_cli(broker, tmp_path, "inspect", "ping", "-d", worker.hostname, "--timeout", "10")
    assert res.returncode == 0 and worker.hostname in res.stdout and "pong" in res.stdout, res.stdout + res.stderr
    res = celery_cli(broker, tmp_path, "inspect", "active_queues", "-d", worker.hostname, "--timeout", "10")
    assert res.returncode == 0, res.stderr
    assert broker.queue("interactive") in res.stdout and broker.queue("bulk") in res.stdout


@pytest.fixture
def flower(broker: Broker, tmp_path: Path) -> Iterator[str]:
    """Flower on a free loopback port, over the test's broker and app (its API open: a test machine)."""
    port = free_port()
    env = settings_env(tmp_path / "data", broker, FLOWER_UNAUTHENTICATED_API="true")
    log = open(tmp_path / "flower.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "ragd.jobs.celery_app", "flower",
                             f"--port={port}", "--address=127.0.0.1"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"flower exited: {(tmp_path / 'flower.log').read_text()[-2000:]}")
        try:
            return httpx.get(url + "/healthcheck", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, "flower to answer", timeout=120, interval=0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def test_flower_sees_the_workers_and_their_tasks(broker: Broker, flower: str, tmp_path: Path,
                                                 server_factory: Callable[..., Server],
                                                 worker_factory: Callable[..., WorkerProcess]) -> None:
    worker = worker_factory(broker)
    server = server_factory(tmp_path / "data", **broker.env()).start()
    with server.client() as http:
        doc_id = upload(http, "depot.txt", NOTE)
        assert done(http, doc_id)["status"] == "indexed"
    workers = wait_until(lambda: worker.hostname in (w := httpx.get(f"{flower}/api/workers", params={
        "refresh": "true"}, timeout=30).json()) and w, "flower to list the worker", timeout=60)
    assert workers[worker.hostname]["stats"]["pool"]["max-concurrency"] == 1

    def ingest_tasks() -> list[dict]:  # (the broker's events are shared: other workers' tasks are left out)
        tasks = httpx.get(f"{flower}/api/tasks", params={"taskname": "ragd.ingest"}, timeout=30).json()
        return [t for t in tasks.values() if t.get("state") == "SUCCESS" and doc_id in str(t.get("args"))]

    [task] = wait_until(ingest_tasks, "flower to show the task", timeout=60)
    assert task["worker"] == worker.hostname and task["result"] == "'done'"


@pytest.mark.parametrize("url", ["http://user:hunter2@mq", "mq:5672", "postgresql://ragd:hunter2@db/ragd"])
def test_a_broker_url_that_is_not_a_broker_is_refused_without_echo(url: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as err:
        Settings(jobs={"broker_url": url})
    assert "amqp://" in str(err.value) and "hunter2" not in str(err.value)
    assert Settings(jobs={"broker_url": ""}).jobs.broker_url is None  # empty: embedded mode
