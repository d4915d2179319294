"""Broker queue depth, asked of the real RabbitMQ (127.0.0.1:5672) and Redis (127.0.0.1:6379): counts, missing
queues, and a broker that is down, refusing or silent (never raising, never hanging).

Every test uses a queue prefix of its own (``test-….interactive``): the machine's broker is shared with other
test runs."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from kombu import Connection, Exchange, Producer, Queue
from tests.tcpproxy import TcpProxy

from ragd.jobs.broker_stats import BrokerStats, broker_queue, broker_status

AMQP = "amqp://guest:guest@127.0.0.1:5672//"
REDIS = "redis://127.0.0.1:6379/0"
BROKERS = {"rabbitmq": AMQP, "redis": REDIS}


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request: pytest.FixtureRequest) -> str:
    return BROKERS[request.param]


def _queue(prefix: str, queue: str) -> Queue:
    """A broker queue declared as Celery declares ragd's: durable, on the direct exchange ``prefix``."""
    name = broker_queue(queue, prefix)
    return Queue(name, Exchange(prefix, type="direct", durable=True), routing_key=name, durable=True)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A queue prefix nobody else uses; its queues and exchange are deleted afterwards (on both brokers)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    for url in BROKERS.values():
        with Connection(url) as conn:
            for queue in ("interactive", "bulk"):
                _queue(name, queue).bind(conn.default_channel).delete()
            Exchange(name, type="direct").bind(conn.default_channel).delete()


def publish(url: str, prefix: str, queue: str, n: int) -> None:
    """``n`` persistent messages into the broker queue of logical queue ``queue``."""
    q = _queue(prefix, queue)
    with Connection(url) as conn:
        producer = Producer(conn.default_channel)
        for i in range(n):
            producer.publish({"job_id": i}, exchange=q.exchange, routing_key=q.routing_key, declare=[q],
                             delivery_mode="persistent")


def test_counts_waiting_messages_per_queue(broker_url: str, prefix: str) -> None:
    publish(broker_url, prefix, "interactive", 3)
    publish(broker_url, prefix, "bulk", 1)
    status = broker_status(broker_url, prefix=prefix)
    assert status.reachable and status.error is None
    assert status.messages == {"interactive": 3, "bulk": 1}
    absent = broker_status(broker_url, ("interactive", "never-declared"), prefix=prefix)  # no such queue: 0, no error
    assert absent.reachable and absent.messages == {"interactive": 3, "never-declared": 0}


def test_redis_count_is_the_length_of_the_queue_list(prefix: str) -> None:
    publish(REDIS, prefix, "bulk", 4)
    assert redis.Redis.from_url(REDIS).llen(f"{prefix}.bulk") == 4
    assert broker_status(REDIS, prefix=prefix).messages == {"interactive": 0, "bulk": 4}


def test_the_default_queues_are_the_two_ragd_queues() -> None:
    assert broker_queue("interactive") == "ragd.interactive" and broker_queue("bulk", "x") == "x.bulk"
    status = broker_status(AMQP)
    assert status.reachable and set(status.messages) == {"interactive", "bulk"}


@pytest.mark.parametrize("scheme", ["amqp", "redis"])
def test_a_cut_broker_is_unreachable_not_an_error(scheme: str) -> None:
    target = ("127.0.0.1", 5672 if scheme == "amqp" else 6379)
    proxy = TcpProxy(target)
    url = (f"amqp://guest:guest@127.0.0.1:{proxy.port}//" if scheme == "amqp"
           else f"redis://:s3cret@127.0.0.1:{proxy.port}/0")
    try:
        assert broker_status(url).reachable
        proxy.cut()
        t0 = time.monotonic()
        status = broker_status(url, timeout=1.0)
        assert not status.reachable and status.messages == {} and status.error
        assert time.monotonic() - t0 < 5
        assert "s3cret" not in status.error
        proxy.restore()
        assert broker_status(url).reachable
    finally:
        proxy.close()


@pytest.mark.parametrize("scheme", ["amqp", "redis"])
def test_a_silent_broker_times_out(scheme: str) -> None:
    """A peer that accepts the connection and never says a word (a hung broker, a black-holing firewall)."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as silent:
        port = silent.getsockname()[1]
        url = f"{scheme}://guest:guest@127.0.0.1:{port}/" + ("/" if scheme == "amqp" else "0")
        t0 = time.monotonic()
        status = broker_status(url, timeout=0.5)
        assert not status.reachable and status.error
        assert time.monotonic() - t0 < 5


def test_refused_credentials_are_unreachable_and_masked() -> None:
    status = broker_status("amqp://guest:wrong-password@127.0.0.1:5672//")
    assert not status.reachable and "ACCESS_REFUSED" in (status.error or "")
    assert "wrong-password" not in (status.error or "")


def test_broker_stats_asks_once_per_ttl(prefix: str) -> None:
    stats = BrokerStats(AMQP, ("interactive",), prefix=prefix, ttl_s=60)
    assert stats.status().messages == {"interactive": 0}
    publish(AMQP, prefix, "interactive", 2)
    assert stats.status().messages == {"interactive": 0}  # remembered
    assert BrokerStats(AMQP, ("interactive",), prefix=prefix, ttl_s=0).status().messages == {"interactive": 2}
