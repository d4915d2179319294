"""Per-identity rate limits that hold across every server process (docs/ratelimits.md).

The :class:`RateLimiter` port counts *units* (one per request, or bytes per upload) per key in a **sliding
window log**: every allowed hit is recorded with its cost and its expiry time (``now + window_s``); a hit is allowed
iff the costs of the unexpired entries plus its own cost stay within ``limit``. Guarantee (exact, no smoothing
error): in *any* interval of length ``window_s`` the allowed costs of one key sum to at most ``limit``, however many
processes share the counters, because the check-and-record of a hit is one atomic step of the backing store (an
SQLite ``BEGIN IMMEDIATE`` transaction, or one Redis Lua script). A denied hit records nothing.

Adapters, picked by the URL's scheme in :data:`RATE_LIMITERS` (:func:`open_rate_limiter`):

* ``sqlite`` (the default, empty URL): a small database file of its own, ``DATA_DIR/ratelimit.sqlite3`` (WAL,
  busy timeout), so it never contends with the main store; holds across the processes of one machine.
* ``redis``/``rediss``/``unix`` (:mod:`ragd.auth.ratelimit_redis`): holds across machines.

:func:`enforce` applies the role budgets of :class:`ragd.config.RateLimitSettings` to an :class:`Actor`.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ragd.auth.actor import LOCAL_ACTOR, Actor
from ragd.config import Settings
from ragd.errors import ConfigurationError, PayloadTooLarge, RateLimited, ServiceUnavailable
from ragd.security.filemodes import private_sqlite_file
from ragd.store.url import scheme_of, sqlite_path

REQUEST_WINDOW_S = 60.0
"""The window of ``ratelimit.per_minute``."""
UPLOAD_WINDOW_S = 3600.0
"""The window of ``ratelimit.upload_mb_per_hour``."""
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one :meth:`RateLimiter.hit`."""

    allowed: bool
    remaining: int
    """Units still available in the current window (after this hit, if it was allowed)."""
    retry_after: float
    """Seconds until the same hit would be allowed: ``0.0`` when allowed; ``math.inf`` when ``cost > limit``
    (it never will be)."""


class RateLimiter(Protocol):
    """Port: atomic sliding-window budgets keyed by string, shared by every process using the same backend.

    Contract of :meth:`hit`: count ``cost`` units (``>= 0``) against ``key`` under ``limit`` units (``>= 0``) per
    sliding window of ``window_s`` seconds (``> 0``). Allowed iff the unexpired allowed costs of ``key`` plus
    ``cost`` are at most ``limit``; only allowed hits are recorded. ``cost=0`` only reads the budget. A key should
    always be used with the same window. Backend failures raise :class:`ragd.errors.ServiceUnavailable` (the
    limiter fails closed). :meth:`close` releases connections; the limiter is thread-safe.
    """

    def hit(self, key: str, limit: int, window_s: float, cost: int = 1) -> Decision: ...

    def close(self) -> None: ...


def check_hit_args(limit: int, window_s: float, cost: int) -> None:
    """Validate the arguments of :meth:`RateLimiter.hit` (every adapter calls this first)."""
    if limit < 0 or cost < 0:
        raise ValueError(f"limit and cost must be >= 0 (got limit={limit}, cost={cost})")
    if not window_s > 0 or math.isinf(window_s):
        raise ValueError(f"window_s must be a positive finite number of seconds (got {window_s})")


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, expires REAL NOT NULL, cost INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hits_by_key ON hits (key, expires, cost)",
    "CREATE INDEX IF NOT EXISTS hits_by_expiry ON hits (expires)",
)


class SqliteRateLimiter:
    """The embedded adapter: one row per allowed hit in a database file of its own.

    Each :meth:`hit` is one ``BEGIN IMMEDIATE`` transaction (SQLite's single writer lock, waited for up to
    ``busy_timeout_s``): delete the key's expired rows, sum the rest, insert the hit if it fits. The clock is read
    inside the transaction. Rows of idle keys are pruned at most once a minute per process. The clock is
    injectable for tests (wall-clock seconds; all processes sharing the file must share the clock).
    """

    PRUNE_EVERY_S = 60.0

    def __init__(self, path: Path, *, busy_timeout_s: float = 10.0, clock: Callable[[], float] = time.time) -> None:
        private_sqlite_file(path)  # 0600, and so its WAL and SHM files
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._next_prune = 0.0
        self._conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        except sqlite3.Error as exc:
            self._conn.close()
            raise ConfigurationError(f"cannot open the rate-limit database {path}: {exc}") from exc

    def hit(self, key: str, limit: int, window_s: float, cost: int = 1) -> Decision:
        check_hit_args(limit, window_s, cost)
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    decision = self._hit_locked(key, limit, window_s, cost)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise ServiceUnavailable(f"rate limiter unavailable ({self.path}): {exc}") from exc
        return decision

    def _hit_locked(self, key: str, limit: int, window_s: float, cost: int) -> Decision:
        conn = self._conn
        now = self._clock()
        conn.execute("DELETE FROM hits WHERE key = ? AND expires <= ?", (key, now))
        (total,) = conn.execute("SELECT COALESCE(SUM(cost), 0) FROM hits WHERE key = ?", (key,)).fetchone()
        if now >= self._next_prune:
            conn.execute("DELETE FROM hits WHERE expires <= ?", (now,))
            self._next_prune = now + self.PRUNE_EVERY_S
        if total + cost <= limit:
            if cost:
                conn.execute("INSERT INTO hits (key, expires, cost) VALUES (?, ?, ?)", (key, now + window_s, cost))
            return Decision(True, limit - total - cost, 0.0)
        remaining = max(0, limit - total)
        if cost > limit:
            return Decision(False, remaining, math.inf)
        # The oldest entries expire first: wait until enough of them have freed the missing units.
        need, freed = total + cost - limit, 0
        for expires, entry_cost in conn.execute(
            "SELECT expires, cost FROM hits WHERE key = ? ORDER BY expires", (key,)
        ):
            freed += entry_cost
            if freed >= need:
                return Decision(False, remaining, max(expires - now, 1e-6))
        return Decision(False, remaining, window_s)  # unreachable while cost <= limit; kept safe

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _sqlite(url: str, data_dir: Path) -> RateLimiter:
    return SqliteRateLimiter(sqlite_path(url))  # sqlite:///relative, sqlite:////absolute or a path, as for the store


def _redis(url: str, data_dir: Path) -> RateLimiter:
    try:
        from ragd.auth.ratelimit_redis import RedisRateLimiter
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigurationError(f"{url.split('://')[0]}:// rate limits need redis-py: pip install 'ragd[redis]'") \
            from exc
    return RedisRateLimiter(url)


#: URL scheme → factory ``(url, data_dir) -> RateLimiter``.
RATE_LIMITERS: dict[str, Callable[[str, Path], RateLimiter]] = {
    "sqlite": _sqlite,
    "redis": _redis,
    "rediss": _redis,
    "unix": _redis,
}


def open_rate_limiter(url: str, data_dir: Path) -> RateLimiter:
    """The limiter for ``url`` (``ratelimit.url``); empty means the SQLite file ``data_dir/ratelimit.sqlite3``."""
    url = url or f"sqlite:///{(data_dir / 'ratelimit.sqlite3').resolve()}"
    scheme = scheme_of(url)
    factory = RATE_LIMITERS.get(scheme)
    if factory is None:
        raise ConfigurationError(
            f"no rate limiter for URL scheme {scheme!r} (known: {', '.join(sorted(RATE_LIMITERS))})"
        )
    return factory(url, data_dir)


def _exempt(actor: Actor, settings: Settings) -> bool:
    # The local actor (authentication off) is one person on their own machine: there is no identity to limit.
    return not settings.ratelimit.enabled or actor == LOCAL_ACTOR


def check_request(limiter: RateLimiter, actor: Actor, settings: Settings) -> None:
    """Count one request against the actor's ``ratelimit.per_minute`` budget; raise :class:`RateLimited` (429,
    ``retry_after`` seconds) when it is spent."""
    limit = settings.ratelimit.per_minute.get(actor.role)
    if limit is None or _exempt(actor, settings):
        return
    decision = limiter.hit(f"req:{actor.identity}", limit, REQUEST_WINDOW_S)
    if not decision.allowed:
        wait = REQUEST_WINDOW_S if math.isinf(decision.retry_after) else decision.retry_after
        raise RateLimited(
            f"rate limit of {limit} requests per minute reached for this {_who(actor)}", retry_after=wait
        )


def check_upload(limiter: RateLimiter, actor: Actor, settings: Settings, upload_bytes: int) -> None:
    """Count ``upload_bytes`` against the actor's ``ratelimit.upload_mb_per_hour`` budget. Raises
    :class:`RateLimited` when the bytes do not fit now, and :class:`PayloadTooLarge` (413, no point retrying) when
    they exceed the whole hourly budget. Bytes are only counted when they fit."""
    mib = settings.ratelimit.upload_mb_per_hour.get(actor.role)
    if upload_bytes <= 0 or mib is None or _exempt(actor, settings):
        return
    limit = int(mib * MIB)
    decision = limiter.hit(f"upload:{actor.identity}", limit, UPLOAD_WINDOW_S, cost=upload_bytes)
    if decision.allowed:
        return
    if math.isinf(decision.retry_after):
        raise PayloadTooLarge(
            f"this upload ({upload_bytes / MIB:.1f} MiB) exceeds the hourly upload budget of role "
            f"{actor.role} ({mib:g} MiB)"
        )
    raise RateLimited(
        f"hourly upload budget of {mib:g} MiB reached for this {_who(actor)} "
        f"({decision.remaining / MIB:.1f} MiB left, {upload_bytes / MIB:.1f} MiB sent)",
        retry_after=decision.retry_after,
    )


def enforce(limiter: RateLimiter, actor: Actor, settings: Settings, *, upload_bytes: int = 0) -> None:
    """Apply the actor's budgets to one request: count it against ``per_minute`` and, when ``upload_bytes > 0``,
    its bytes against ``upload_mb_per_hour``. Call it once per request. Raises :class:`RateLimited` (429 with
    ``retry_after`` >= 1 s) or :class:`PayloadTooLarge`; a denied request's upload bytes are not counted. Exempt:
    ``ratelimit.enabled = false``, the local actor (authentication off) and roles absent from the settings."""
    check_request(limiter, actor, settings)
    check_upload(limiter, actor, settings, upload_bytes)


LOGIN_WINDOW_S = 60.0
"""The window of the ``auth.login_attempts_*`` budgets."""


def check_login(limiter: RateLimiter, settings: Settings, address: str, email: str) -> None:
    """Count one sign-in attempt for ``email`` from client ``address``, against three budgets in turn: the
    address (password spraying across accounts), the address and account together (guessing one password: the
    back-off falls on that address only, so nobody elsewhere can lock the owner out), and a high ceiling for the
    account from all addresses (guessing from many addresses at once). Raises :class:`RateLimited` naming the
    budget; a refused attempt is not counted by the budgets after it."""
    auth = settings.auth
    budgets = (
        (f"login-addr:{address}", auth.login_attempts_per_address_per_minute, "from this address"),
        (f"login-pair:{address}|{email}", auth.login_attempts_per_minute, "for this account from this address"),
        (f"login-acct:{email}", auth.login_attempts_per_account_per_minute, "for this account"),
    )
    for key, limit, what in budgets:
        decision = limiter.hit(key, limit, LOGIN_WINDOW_S)
        if not decision.allowed:
            wait = LOGIN_WINDOW_S if math.isinf(decision.retry_after) else decision.retry_after
            raise RateLimited(f"too many sign-in attempts {what} ({limit} a minute); wait and try again",
                              retry_after=wait)


def _who(actor: Actor) -> str:
    return "user (all their sessions and API keys together)"


__all__ = [
    "RATE_LIMITERS",
    "Decision",
    "RateLimiter",
    "SqliteRateLimiter",
    "check_login",
    "check_request",
    "check_upload",
    "enforce",
    "open_rate_limiter",
]
