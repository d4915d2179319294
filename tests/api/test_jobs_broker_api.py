"""Broker mode seen from the API: ``GET /api/v1/admin/jobs`` and ``/metrics`` report the messages waiting in the
real broker (RabbitMQ, Redis), and a broker cut off (tests/tcpproxy.py) is ``reachable: false``: no error, no
hang. Each server uses a queue prefix of its own (the machine's broker is shared)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from kombu import Connection, Exchange, Producer, Queue
from prometheus_client.parser import text_string_to_metric_families
from tests.support import Server, _pause
from tests.tcpproxy import TcpProxy

BROKERS = {"rabbitmq": ("amqp", 5672), "redis": ("redis", 6379)}


def _url(scheme: str, port: int) -> str:
    return f"amqp://guest:guest@127.0.0.1:{port}//" if scheme == "amqp" else f"redis://127.0.0.1:{port}/0"


def _queue(prefix: str, queue: str) -> Queue:
    name = f"{prefix}.{queue}"
    return Queue(name, Exchange(prefix, type="direct", durable=True), routing_key=name, durable=True)


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest, server_factory) -> Iterator[tuple[Server, TcpProxy, str, str]]:  # type: ignore[no-untyped-def]
    scheme, port = BROKERS[request.param]
    direct = _url(scheme, port)
    proxy = TcpProxy(("127.0.0.1", port))
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    server = server_factory(RAGD_INGEST__WORKERS="0", RAGD_JOBS__BROKER_URL=_url(scheme, proxy.port),
                            RAGD_JOBS__QUEUE_PREFIX=prefix).start()
    try:
        yield server, proxy, direct, prefix
    finally:
        server.stop()
        proxy.close()
        with Connection(direct) as conn:
            for q in ("interactive", "bulk"):
                _queue(prefix, q).bind(conn.default_channel).delete()
            Exchange(prefix, type="direct").bind(conn.default_channel).delete()


def _until(http: httpx.Client, check: object, what: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        last = http.get("/api/v1/admin/jobs").json()
        if check(last):  # type: ignore[operator]
            return last
        _pause(0.2)  # between two polls (the server asks the broker at most every 2 s)
    raise AssertionError(f"{what}: {last}")


def _samples(http: httpx.Client) -> dict[tuple[str, tuple], float]:
    r = http.get("/metrics")
    assert r.status_code == 200, r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(r.text) for s in f.samples}


def test_broker_messages_and_an_unreachable_broker(broker: tuple[Server, TcpProxy, str, str]) -> None:
    server, proxy, direct, prefix = broker
    bulk = _queue(prefix, "bulk")
    with Connection(direct) as conn:  # what a publisher left for the workers
        producer = Producer(conn.default_channel)
        for i in range(3):
            producer.publish({"job_id": i}, exchange=bulk.exchange, routing_key=bulk.routing_key, declare=[bulk])
    with server.client() as http:
        jobs = _until(http, lambda j: j["broker"] and j["broker"]["messages"].get("bulk") == 3, "3 bulk messages")
        assert jobs["mode"] == "celery" and jobs["broker"] == {"reachable": True,
                                                               "messages": {"interactive": 0, "bulk": 3}}
        s = _samples(http)
        assert s[("ragd_broker_reachable", ())] == 1
        assert s[("ragd_broker_messages", (("queue", "bulk"),))] == 3

        proxy.cut()
        t0 = time.monotonic()
        jobs = _until(http, lambda j: not j["broker"]["reachable"], "the cut broker unreachable")
        assert jobs["broker"] == {"reachable": False, "messages": {}} and jobs["queues"]["bulk"]["queued"] == 0
        assert time.monotonic() - t0 < 30
        s = _samples(http)
        assert s[("ragd_broker_reachable", ())] == 0
        assert not any(name == "ragd_broker_messages" for name, _ in s)
        assert s[("ragd_jobs", (("queue", "interactive"), ("state", "queued")))] == 0  # the store still answers

        proxy.restore()
        _until(http, lambda j: j["broker"]["reachable"] and j["broker"]["messages"]["bulk"] == 3, "reachable again")
