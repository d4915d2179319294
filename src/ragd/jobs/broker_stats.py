"""How many messages wait in the broker's ragd queues, asked directly with kombu (no Celery app needed).

Used at scrape time (``ragd_broker_messages``) and by ``GET /api/v1/admin/jobs``: a slow or absent broker must
never hang or fail the caller, so every call has short timeouts, never retries, and answers
``BrokerStatus(reachable=False, …)`` instead of raising.

How the count is read: a passive ``queue_declare`` on each queue. On RabbitMQ (AMQP) the broker answers with
the queue's ready ``message_count`` (messages delivered to a worker and not yet acknowledged are not counted);
on Redis, kombu's Redis channel answers with the ``LLEN`` of the queue's list (summed over its priority lists).
A queue that does not exist yet (never declared; on Redis an empty list is no key) holds 0 messages.

kombu is imported only when a broker is asked about (embedded mode has no broker and needs no kombu).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragd.config_docs import mask_url_secrets
from ragd.models import JOB_QUEUES

#: The logical queues (stored on ``jobs.queue``); each maps to the broker queue ``PREFIX.<queue>``.
QUEUES: tuple[str, ...] = JOB_QUEUES
DEFAULT_PREFIX = "ragd"
DEFAULT_TIMEOUT_S = 2.0


def broker_queue(queue: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The broker (Celery) queue name of a logical queue: ``interactive`` → ``ragd.interactive``
    (``jobs.queue_prefix`` is the prefix)."""
    return f"{prefix}.{queue}"


@dataclass(frozen=True)
class BrokerStatus:
    """One look at the broker: whether it answered and the messages waiting per logical queue (empty when
    unreachable); ``error`` says why not (URL secrets masked)."""

    reachable: bool
    messages: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"reachable": self.reachable, "messages": dict(self.messages)}


def _transport_options(url: str, timeout: float, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    scheme = url.partition("://")[0].lower()
    if scheme.startswith(("redis", "rediss")):
        opts: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                                "max_connections": 2}
    elif scheme.startswith(("amqp", "pyamqp", "amqps")):
        opts = {"read_timeout": timeout, "write_timeout": timeout}
    else:
        opts = {}
    return {**opts, **(extra or {})}


def _count(conn: Any, name: str, not_found: tuple[type[BaseException], ...]) -> int:
    """Ready messages in one broker queue; 0 when the queue does not exist. A fresh channel per queue: on AMQP
    a failed passive declare closes its channel."""
    channel = conn.channel()
    try:
        return int(channel.queue_declare(queue=name, passive=True).message_count)
    except not_found:
        return 0
    finally:
        with contextlib.suppress(Exception):  # already closed by the broker after a NOT_FOUND
            channel.close()


def broker_status(url: str, queues: Sequence[str] = QUEUES, *, prefix: str = DEFAULT_PREFIX,
                  timeout: float = DEFAULT_TIMEOUT_S, transport_options: Mapping[str, Any] | None = None,
                  ) -> BrokerStatus:
    """Messages waiting in the broker queue (``PREFIX.<queue>``) of each of ``queues`` (logical names) at the
    broker ``url`` (``amqp://`` or ``redis://``). Never raises: an unreachable, slow or refusing broker gives
    ``reachable=False``."""
    try:
        from amqp.exceptions import NotFound
        from kombu import Connection
        from kombu.exceptions import ChannelError
    except ImportError as exc:  # the celery extra is not installed
        return BrokerStatus(False, error=f"kombu is not installed ({exc}): pip install 'ragd[celery]'")
    not_found = (NotFound, ChannelError)
    conn = Connection(url, connect_timeout=timeout,
                      transport_options=_transport_options(url, timeout, transport_options))
    try:
        conn.ensure_connection(max_retries=0)  # one attempt, no sleeping between retries
        return BrokerStatus(True, {q: _count(conn, broker_queue(q, prefix), not_found) for q in queues})
    except Exception as exc:  # whatever the transport raises, the caller gets an answer
        return BrokerStatus(False, error=mask_url_secrets(f"{type(exc).__name__}: {exc}"))
    finally:
        with contextlib.suppress(Exception):  # a half-open connection may fail to close; nothing to do
            conn.release()


class BrokerStats:
    """:func:`broker_status` for one broker, remembered for ``ttl_s`` seconds so a scrape and an admin request
    (or several scrapers) arriving together ask the broker once. Thread-safe; one asker at a time."""

    def __init__(self, url: str, queues: Sequence[str] = QUEUES, *, prefix: str = DEFAULT_PREFIX,
                 timeout: float = DEFAULT_TIMEOUT_S, ttl_s: float = 2.0,
                 transport_options: Mapping[str, Any] | None = None) -> None:
        self.url = url
        self.queues = tuple(queues)
        self.prefix = prefix
        self.timeout = timeout
        self.ttl_s = ttl_s
        self.transport_options = dict(transport_options or {})
        self._lock = threading.Lock()
        self._last: tuple[float, BrokerStatus] | None = None

    def status(self) -> BrokerStatus:
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last[0] < self.ttl_s:
                return self._last[1]
            status = broker_status(self.url, self.queues, prefix=self.prefix, timeout=self.timeout,
                                   transport_options=self.transport_options)
            self._last = (time.monotonic(), status)
            return status
