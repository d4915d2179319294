"""Exponential backoff with full jitter (ragd.jobs.backoff)."""

from __future__ import annotations

import random

import pytest

from ragd.jobs.backoff import backoff_ceiling, backoff_delay


def test_the_ceiling_doubles_per_attempt_up_to_the_maximum() -> None:
    assert [backoff_ceiling(n, 2.0, 300.0) for n in range(1, 11)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert backoff_ceiling(0, 2.0, 300.0) == backoff_ceiling(-5, 2.0, 300.0) == 2.0  # counted from 1
    assert backoff_ceiling(10_000, 2.0, 300.0) == 300.0  # no overflow however many attempts
    assert backoff_ceiling(3, 0.0, 300.0) == 0.0


def test_delays_are_spread_over_the_whole_interval() -> None:
    rng = random.Random(16)
    for attempt, ceiling in ((1, 2.0), (3, 8.0), (12, 300.0)):
        delays = [backoff_delay(attempt, 2.0, 300.0, rng) for _ in range(2000)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # full jitter: uniform over [0, ceiling], so each quarter of it holds about a quarter of the draws
        quarters = [sum(q * ceiling / 4 <= d < (q + 1) * ceiling / 4 for d in delays) for q in range(4)]
        assert all(400 < n < 600 for n in quarters), quarters


def test_a_seeded_generator_gives_the_same_delays_and_the_default_one_works() -> None:
    first = [backoff_delay(n, 1.0, 60.0, random.Random(7)) for n in range(1, 8)]
    assert first == [backoff_delay(n, 1.0, 60.0, random.Random(7)) for n in range(1, 8)]
    assert 0.0 <= backoff_delay(4, 1.0, 60.0) <= 8.0


def test_negative_times_are_refused() -> None:
    with pytest.raises(ValueError):
        backoff_delay(1, -1.0, 10.0)
    with pytest.raises(ValueError):
        backoff_delay(1, 1.0, -10.0)
