"""Redis adapter of the :class:`ragd.auth.ratelimit.RateLimiter` port: limits that hold across machines.

Same sliding-window log as the SQLite adapter, kept in two keys per limited key (sharing a ``{hash tag}`` so a
Redis Cluster keeps them on one shard):

* ``<prefix>{<key>}:log``: a sorted set, one member ``"<seq>:<cost>"`` per allowed hit, scored by its expiry time
  in integer microseconds of the Redis server clock;
* ``<prefix>{<key>}:sum``: a hash with ``total`` (the unexpired costs) and ``seq`` (a member counter).

One Lua script does prune + check + record atomically (Redis runs a script alone), and reads the time with
``TIME`` on the server, so application servers with skewed clocks still share one window. Pruning costs O(log n)
per expired entry, each entry being pruned once; both keys expire on their own one window after the last allowed
hit. Redis must not evict these keys early (use ``maxmemory-policy noeviction`` or give the limiter its own
database/instance), or budgets are forgotten.
"""

from __future__ import annotations

import math

import redis

from ragd.auth.ratelimit import Decision, check_hit_args
from ragd.errors import ServiceUnavailable

# KEYS: log, sum. ARGV: limit, window (µs), cost. Returns {allowed (0/1), remaining, retry_after (µs, -1 = never)}.
_HIT = """
local log, sum = KEYS[1], KEYS[2]
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now_s = string.format('%.0f', now)
local total = tonumber(redis.call('HGET', sum, 'total') or '0')
local expired = redis.call('ZRANGEBYSCORE', log, '-inf', now_s)
if #expired > 0 then
  for i = 1, #expired do
    total = total - tonumber(string.match(expired[i], ':(%d+)$'))
  end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now_s)
  if total < 0 or redis.call('ZCARD', log) == 0 then total = 0 end
  redis.call('HSET', sum, 'total', string.format('%.0f', total))
end
if total + cost <= limit then
  if cost > 0 then
    local seq = redis.call('HINCRBY', sum, 'seq', 1)
    redis.call('ZADD', log, string.format('%.0f', now + window), seq .. ':' .. string.format('%.0f', cost))
    redis.call('HSET', sum, 'total', string.format('%.0f', total + cost))
    local ttl = math.floor(window / 1000) + 1000
    redis.call('PEXPIRE', log, ttl)
    redis.call('PEXPIRE', sum, ttl)
  end
  return {1, limit - total - cost, 0}
end
local remaining = math.max(0, limit - total)
if cost > limit then return {0, remaining, -1} end
local need, freed, offset = total + cost - limit, 0, 0
while true do
  local batch = redis.call('ZRANGE', log, offset, offset + 127, 'WITHSCORES')
  if #batch == 0 then break end
  for i = 1, #batch, 2 do
    freed = freed + tonumber(string.match(batch[i], ':(%d+)$'))
    if freed >= need then return {0, remaining, math.max(1, tonumber(batch[i + 1]) - now)} end
  end
  offset = offset + 128
end
return {0, remaining, window}
"""


class RedisRateLimiter:
    """Sliding-window budgets in Redis (``redis://host:port/db``, ``rediss://…``, ``unix:///path``).

    ``prefix`` namespaces every key (tests use a unique one). Connections are lazy: an unreachable server fails
    the first :meth:`hit` with :class:`ServiceUnavailable`, never the start-up. :meth:`ping` checks it eagerly.
    """

    def __init__(self, url: str, *, prefix: str = "ragd:rl:", timeout_s: float = 2.0) -> None:
        self.url = url
        self.prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._script = self._client.register_script(_HIT)

    def hit(self, key: str, limit: int, window_s: float, cost: int = 1) -> Decision:
        check_hit_args(limit, window_s, cost)
        base = f"{self.prefix}{{{key}}}"
        window_us = max(1, round(window_s * 1_000_000))
        try:
            allowed, remaining, retry_us = self._script(keys=[f"{base}:log", f"{base}:sum"],
                                                        args=[limit, window_us, cost])
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"rate limiter unavailable (Redis): {exc}") from exc
        if allowed:
            return Decision(True, int(remaining), 0.0)
        return Decision(False, int(remaining), math.inf if retry_us < 0 else retry_us / 1_000_000)

    def ping(self) -> None:
        """Raise :class:`ServiceUnavailable` unless the server answers."""
        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"rate limiter unavailable (Redis at {self.url}): {exc}") from exc

    def close(self) -> None:
        self._client.close()
