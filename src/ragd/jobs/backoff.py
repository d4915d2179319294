"""Exponential backoff with full jitter, for retries of jobs that failed for a transient reason.

The n-th attempt's retry waits a uniformly random time between 0 and ``min(max_s, base_s * 2 ** (n - 1))``:
the ceiling doubles with each attempt up to ``max_s``, and the randomness spreads retries that failed together (a
database restart fails every worker's job at once) over the whole interval instead of bringing them back in one
burst ("full jitter", which of the usual variants does the least total work while keeping waits short).
"""

from __future__ import annotations

import random

_MAX_DOUBLINGS = 64
"""Beyond this many doublings every ceiling is ``max_s`` anyway (and ``2 ** n`` stays a float)."""


def backoff_ceiling(attempt: int, base_s: float, max_s: float) -> float:
    """The longest wait before retrying after ``attempt`` (counting from 1; lower counts as 1)."""
    if base_s < 0 or max_s < 0:
        raise ValueError(f"backoff times must not be negative (base {base_s}, max {max_s})")
    doublings = min(max(attempt, 1) - 1, _MAX_DOUBLINGS)
    return min(max_s, base_s * 2.0 ** doublings)


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retrying after ``attempt`` (from 1): ``uniform(0, min(max_s, base_s * 2 **
    (attempt - 1)))``, drawn from ``rng`` (the module's generator by default)."""
    return (rng or random).uniform(0.0, backoff_ceiling(attempt, base_s, max_s))
