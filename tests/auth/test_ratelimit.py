"""Rate limits: one suite for both adapters (SQLite file, real Redis at 127.0.0.1:6379), several OS processes on
one key, the sliding-window guarantee against a reference model, and the role budgets of :func:`enforce`."""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from ragd.auth.actor import LOCAL_ACTOR, ROLES, Actor
from ragd.auth.ratelimit import MIB, RATE_LIMITERS, RateLimiter, SqliteRateLimiter, enforce, open_rate_limiter
from ragd.auth.ratelimit_redis import RedisRateLimiter
from ragd.config import _RATELIMIT_ROLES, RateLimitSettings, Settings
from ragd.errors import ConfigurationError, PayloadTooLarge, RateLimited

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_limiter(prefix: str) -> RedisRateLimiter:
    limiter = RedisRateLimiter(REDIS_URL, prefix=prefix)
    try:
        limiter._client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at 127.0.0.1:6379 ({exc}); start it with scripts/system-deps.sh")
    return limiter


def _drop_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, RateLimiter, str]]:
    """(kind, limiter, location): location is the SQLite file or the Redis key prefix (unique per test)."""
    if request.param == "sqlite":
        path = tmp_path / "ratelimit.sqlite3"
        limiter: RateLimiter = SqliteRateLimiter(path)
        yield "sqlite", limiter, str(path)
        limiter.close()
    else:
        prefix = f"ragd-test:{uuid.uuid4().hex}:"
        limiter = _redis_limiter(prefix)
        yield "redis", limiter, prefix
        limiter.close()
        _drop_prefix(prefix)


def test_burst_beyond_the_limit_is_refused(backend: tuple[str, RateLimiter, str]) -> None:
    _, limiter, _ = backend
    decisions = [limiter.hit("burst", 5, 60.0) for _ in range(5)]
    assert all(d.allowed for d in decisions)
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    refused = limiter.hit("burst", 5, 60.0)
    assert not refused.allowed and refused.remaining == 0
    assert 0 < refused.retry_after <= 60.0
    assert limiter.hit("other-key", 5, 60.0).allowed  # keys are independent


def test_allowed_again_once_the_window_has_passed(backend: tuple[str, RateLimiter, str]) -> None:
    _, limiter, _ = backend
    for _ in range(1000):  # fill the 1 s window, however slow this machine is right now
        refused = limiter.hit("slide", 3, 1.0)
        if not refused.allowed:
            break
    assert not refused.allowed and 0 < refused.retry_after <= 1.0
    time.sleep(refused.retry_after + 0.01)
    assert limiter.hit("slide", 3, 1.0).allowed


def test_costs_count_units_not_hits(backend: tuple[str, RateLimiter, str]) -> None:
    _, limiter, _ = backend
    first = limiter.hit("bytes", 1000, 60.0, cost=600)
    assert first.allowed and first.remaining == 400
    too_big_now = limiter.hit("bytes", 1000, 60.0, cost=500)
    assert not too_big_now.allowed and too_big_now.remaining == 400 and 0 < too_big_now.retry_after <= 60.0
    fits = limiter.hit("bytes", 1000, 60.0, cost=400)
    assert fits.allowed and fits.remaining == 0
    never = limiter.hit("bytes", 1000, 60.0, cost=1001)
    assert not never.allowed and math.isinf(never.retry_after)
    peek = limiter.hit("bytes", 1000, 60.0, cost=0)
    assert peek.allowed and peek.remaining == 0
    big = limiter.hit("gigabytes", 10 * 1024 * MIB, 3600.0, cost=3 * 1024 * MIB)  # beyond 32-bit integers
    assert big.allowed and big.remaining == 7 * 1024 * MIB


def test_bad_arguments_are_refused(backend: tuple[str, RateLimiter, str]) -> None:
    _, limiter, _ = backend
    for args in ((-1, 60.0, 1), (5, 0.0, 1), (5, -1.0, 1), (5, math.inf, 1), (5, 60.0, -1)):
        with pytest.raises(ValueError):
            limiter.hit("bad", *args)


_WORKER = """
import sys
from pathlib import Path
kind, location, key, hits = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if kind == "sqlite":
    from ragd.auth.ratelimit import SqliteRateLimiter
    limiter = SqliteRateLimiter(Path(location))
else:
    from ragd.auth.ratelimit_redis import RedisRateLimiter
    limiter = RedisRateLimiter("redis://127.0.0.1:6379/0", prefix=location)
print("ready", flush=True)
sys.stdin.readline()  # start together
print(sum(limiter.hit(key, 100, 3600.0).allowed for _ in range(hits)), flush=True)
"""


def test_the_limit_holds_across_processes(backend: tuple[str, RateLimiter, str]) -> None:
    kind, limiter, location = backend
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, kind, location, "shared", "60"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        allowed = [int(p.communicate(timeout=240)[0].strip()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs)
    assert sum(allowed) == 100  # 240 hits, exactly the limit allowed
    assert not limiter.hit("shared", 100, 3600.0).allowed


# -- the sliding-window guarantee, against a reference model (SQLite adapter, injected clock) -------------------


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(0, 10),
    window=st.sampled_from([1.0, 2.5, 10.0]),
    steps=st.lists(st.tuples(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.5, 3.0]), st.integers(0, 4)), max_size=40),
)
def test_sqlite_matches_the_exact_sliding_window(limit: int, window: float, steps: list[tuple[float, int]]) -> None:
    now = [1_000_000.0]
    with tempfile.TemporaryDirectory() as tmp:
        limiter = SqliteRateLimiter(Path(tmp) / "rl.sqlite3", clock=lambda: now[0])
        accepted: list[tuple[float, int]] = []
        for dt, cost in steps:
            now[0] += dt
            live = sum(c for t, c in accepted if t > now[0] - window)
            decision = limiter.hit("k", limit, window, cost)
            assert decision.allowed == (live + cost <= limit)
            if decision.allowed:
                accepted.append((now[0], cost))
                assert decision.remaining == limit - live - cost
            elif cost <= limit:
                # retry_after is exactly when the oldest entries will have freed enough units
                later = now[0] + decision.retry_after
                assert sum(c for t, c in accepted if t > later + 1e-6 - window) + cost <= limit
                assert sum(c for t, c in accepted if t > later - 1e-6 - window) + cost > limit
            # never more than `limit` units in any window
            for t, _ in accepted:
                assert sum(c for u, c in accepted if t <= u < t + window) <= limit
        limiter.close()


def test_sqlite_prunes_expired_rows(tmp_path: Path) -> None:
    now = [1000.0]
    limiter = SqliteRateLimiter(tmp_path / "rl.sqlite3", clock=lambda: now[0])
    for i in range(50):
        limiter.hit(f"idle-{i}", 10, 1.0)
    now[0] += SqliteRateLimiter.PRUNE_EVERY_S + 1
    limiter.hit("active", 10, 1.0)
    assert limiter._conn.execute("SELECT COUNT(*) FROM hits").fetchone()[0] == 1
    limiter.close()


# -- factory and registry ---------------------------------------------------------------------------------------


def test_open_rate_limiter_picks_the_adapter_by_url(tmp_path: Path) -> None:
    default = open_rate_limiter("", tmp_path)
    assert isinstance(default, SqliteRateLimiter) and default.path == (tmp_path / "ratelimit.sqlite3").resolve()
    assert default.path.exists()
    default.close()
    explicit = open_rate_limiter(f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}", tmp_path)
    assert isinstance(explicit, SqliteRateLimiter) and explicit.path == tmp_path / "elsewhere.sqlite3"
    explicit.close()
    remote = open_rate_limiter(REDIS_URL, tmp_path)
    assert isinstance(remote, RedisRateLimiter)
    remote.close()
    assert {"sqlite", "redis", "rediss"} <= set(RATE_LIMITERS)
    with pytest.raises(ConfigurationError, match="memcached"):
        open_rate_limiter("memcached://127.0.0.1", tmp_path)


# -- role budgets (enforce) -------------------------------------------------------------------------------------


def _settings(tmp_path: Path, **ratelimit: object) -> Settings:
    return Settings(data_dir=tmp_path, ratelimit=RateLimitSettings(**ratelimit))


def _actor(role: str, user_id: str = "u1", key_id: str | None = None) -> Actor:
    return Actor(user_id=user_id, email=f"{user_id}@example.org", role=role, tenant_id="default",  # type: ignore[arg-type]
                 key_id=key_id)


@pytest.fixture
def limiter(tmp_path: Path) -> Iterator[RateLimiter]:
    lim = open_rate_limiter("", tmp_path)
    yield lim
    lim.close()


def _calls_until_refused(call: Callable[[], None], most: int) -> tuple[int, RateLimited | None]:
    for n in range(most):
        try:
            call()
        except RateLimited as exc:
            return n, exc
    return most, None


def test_enforce_applies_the_role_budget_per_identity(tmp_path: Path, limiter: RateLimiter) -> None:
    cfg = _settings(tmp_path, per_minute={"user": 3, "viewer": 1})
    assert cfg.ratelimit.per_minute["admin"] == 1000  # roles left out keep their default
    n, exc = _calls_until_refused(lambda: enforce(limiter, _actor("user"), cfg), 10)
    assert n == 3 and exc is not None
    assert exc.status == 429 and exc.code == "rate_limited" and exc.retry_after >= 1
    assert exc.to_problem()["retry_after"] == exc.retry_after
    # the same user's API key shares the user's budget; another user has their own
    assert _calls_until_refused(lambda: enforce(limiter, _actor("user", key_id="k1"), cfg), 10)[0] == 0
    assert _calls_until_refused(lambda: enforce(limiter, _actor("viewer", user_id="u2"), cfg), 10)[0] == 1
    assert _calls_until_refused(lambda: enforce(limiter, _actor("admin", user_id="u3"), cfg), 20) == (20, None)


def test_five_keys_of_one_user_share_one_budget(tmp_path: Path, backend: tuple[str, RateLimiter, str]) -> None:
    """Issue 14, finding 10: minting keys must not multiply a user's budget (both adapters)."""
    _, limiter, _ = backend
    cfg = _settings(tmp_path, per_minute={"user": 12})
    keys = [_actor("user", key_id=f"k{i}") for i in range(5)] + [_actor("user")]  # five keys and the session
    allowed = 0
    for _ in range(10):
        for actor in keys:
            try:
                enforce(limiter, actor, cfg)
                allowed += 1
            except RateLimited:
                pass
    assert allowed == 12
    # Upload bytes too: 5 × 300 KiB through five keys exceed the user's 1 MiB.
    uploads = _settings(tmp_path, per_minute={"user": 10_000}, upload_mb_per_hour={"user": 1.0})
    sent = 0
    for actor in keys[:5]:
        try:
            enforce(limiter, actor, uploads, upload_bytes=300 * 1024)
            sent += 300 * 1024
        except RateLimited:
            pass
    assert sent == 900 * 1024
    # Another user keeps a budget of their own.
    assert _calls_until_refused(lambda: enforce(limiter, _actor("user", user_id="u2", key_id="k9"), cfg), 20)[0] \
        == 12


def test_enforce_counts_upload_bytes(tmp_path: Path, limiter: RateLimiter) -> None:
    cfg = _settings(tmp_path, upload_mb_per_hour={"user": 1.0})
    user = _actor("user")
    enforce(limiter, user, cfg, upload_bytes=600 * 1024)
    with pytest.raises(RateLimited) as refused:
        enforce(limiter, user, cfg, upload_bytes=600 * 1024)
    assert refused.value.retry_after >= 1 and "upload" in refused.value.detail
    enforce(limiter, user, cfg, upload_bytes=400 * 1024)  # what is left still fits
    with pytest.raises(PayloadTooLarge):  # more than the whole hourly budget: retrying cannot help
        enforce(limiter, _actor("user", user_id="u2"), cfg, upload_bytes=2 * MIB)
    with pytest.raises(PayloadTooLarge):  # viewer budget is 0 by default
        enforce(limiter, _actor("viewer"), cfg, upload_bytes=1)


def test_enforce_exemptions(tmp_path: Path, limiter: RateLimiter) -> None:
    tight = {"per_minute": {"admin": 0, "user": 0}, "upload_mb_per_hour": {"admin": 0}}
    off = _settings(tmp_path, enabled=False, **tight)
    enforce(limiter, _actor("user"), off, upload_bytes=10 * MIB)
    on = _settings(tmp_path, **tight)
    enforce(limiter, LOCAL_ACTOR, on, upload_bytes=10 * MIB)  # authentication off: nobody to limit
    with pytest.raises(RateLimited):
        enforce(limiter, _actor("user"), on)


def test_settings_validate_roles_and_budgets(tmp_path: Path) -> None:
    assert tuple(_RATELIMIT_ROLES) == ROLES
    with pytest.raises(ValueError, match="unknown role"):
        RateLimitSettings(per_minute={"usr": 5})
    with pytest.raises(ValueError, match=">= 0"):
        RateLimitSettings(upload_mb_per_hour={"user": -1})


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAGD_RATELIMIT__PER_MINUTE__USER", "7")
    monkeypatch.setenv("RAGD_RATELIMIT__UPLOAD_MB_PER_HOUR", '{"api_user": 5}')
    monkeypatch.setenv("RAGD_RATELIMIT__URL", REDIS_URL)
    cfg = Settings(data_dir=tmp_path).ratelimit
    assert cfg.per_minute == {"admin": 1000, "user": 7, "api_user": 500, "viewer": 60}
    assert cfg.upload_mb_per_hour["api_user"] == 5 and cfg.upload_mb_per_hour["admin"] == 10240
    assert cfg.url == REDIS_URL
