"""Broker queue depth, asked of the real RabbitMQ (127.0.0.1:5672) and Redis (127.0.0.1:6379): counts, missing
queues, and a broker that is down, refusing or silent (never raising, never hanging).

Every test uses queues of its own (``ragd.test-…``): the machine's broker is shared with other test runs."""

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
def broker(request: pytest.FixtureRequest) -> str:
    return BROKERS[request.param]


@pytest.fixture
def queue_name() -> Iterator[str]:
    """A logical queue name nobody else uses; its broker queue and exchange are deleted afterwards (both brokers)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    for url in BROKERS.values():
        with Connection(url) as conn:
            q = Queue(broker_queue(name), Exchange(broker_queue(name), type="direct"), routing_key=name,
                      channel=conn.default_channel)
            q.delete()
            q.exchange.delete()


def publish(url: str, queue: str, n: int) -> None:
    """``n`` persistent messages into the broker queue of logical queue ``queue`` (declared durable, as Celery's)."""
    q = Queue(broker_queue(queue), Exchange(broker_queue(queue), type="direct"), routing_key=queue, durable=True)
    with Connection(url) as conn:
        producer = Producer(conn.default_channel)
        for i in range(n):
            producer.publish({"job_id": i}, exchange=q.exchange, routing_key=queue, declare=[q],
                             delivery_mode="persistent")


def test_counts_waiting_messages_per_queue(broker: str, queue_name: str) -> None:
    publish(broker, queue_name, 3)
    absent = f"absent-{uuid.uuid4().hex[:12]}"  # never declared: holds nothing, is no error
    status = broker_status(broker, (queue_name, absent))
    assert status.reachable and status.error is None
    assert status.messages == {queue_name: 3, absent: 0}


def test_redis_count_is_the_length_of_the_queue_list(queue_name: str) -> None:
    publish(REDIS, queue_name, 4)
    assert redis.Redis.from_url(REDIS).llen(broker_queue(queue_name)) == 4
    assert broker_status(REDIS, (queue_name,)).messages == {queue_name: 4}


def test_the_default_queues_are_the_two_ragd_queues() -> None:
    assert broker_queue("interactive") == "ragd.interactive" and broker_queue("bulk") == "ragd.bulk"
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


def test_broker_stats_asks_once_per_ttl(queue_name: str) -> None:
    stats = BrokerStats(AMQP, (queue_name,), ttl_s=60)
    assert stats.status().messages == {queue_name: 0}
    publish(AMQP, queue_name, 2)
    assert stats.status().messages == {queue_name: 0}  # remembered
    assert BrokerStats(AMQP, (queue_name,), ttl_s=0).status().messages == {queue_name: 2}
