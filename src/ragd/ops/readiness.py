"""Readiness: may this instance take traffic? Each check reports ``ok`` or ``fail``, a detail and its time.

Checks: the database answers; the dense index agrees with the store (after catching up, the same number of
vectors as chunks); the in-memory BM25 index is built (in the background at start-up); every derived index has
caught up with the change feed as it stood when the instance started (a replica joining a busy database is not
ready before; the body says how far behind the indexes are, ``index_lag``); the embedding model embeds; the LLM
answers when one is configured (the default extractive generator needs none); enough free disk on the data
directory; memory below the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ragd.observability.resources import disk_usage, memory_usage

if TYPE_CHECKING:
    from ragd.core import Ragd

MiB = 1024 * 1024


def _database(r: Ragd) -> str:
    r.store.get_meta("embedding_model")
    return f"{r.store.count_chunks()} chunks, {r.store.queue_depth()} jobs queued or running"


def _index(r: Ragd) -> str:
    # The store may move while we compare: a comparison counts only when no change landed in between.
    for _ in range(3):
        before = r.store.last_change_id()
        r.index.sync(r.store)
        vectors, chunks = len(r.index), r.store.count_chunks()
        if r.store.last_change_id() == before:
            if vectors != chunks:
                raise RuntimeError(f"dense index has {vectors} vectors but the store has {chunks} chunks; "
                                   "POST /api/v1/admin/rebuild-index or run `ragd doctor --repair`")
            if r.index.watermark < before:
                raise RuntimeError(f"dense index watermark {r.index.watermark} is behind the store "
                                   f"({before})")
            return f"{vectors} vectors = {chunks} chunks, model {r.index.model} (dim {r.index.dim})"
    return "the store is changing quickly; counts compared while catching up"


def _lexical(r: Ragd) -> str:
    if r.lexical is None:
        return "BM25 in the store (settings.retrieval.lexical_index = store)"
    if not r.lexical.try_sync(r.store) and not r.lexical.built:
        raise RuntimeError("the in-memory BM25 index is being built from the store")
    return f"{len(r.lexical)} chunks in the in-memory BM25 index"


def _caught_up(r: Ragd) -> str:
    lag = r.index_lag()
    if not r.follower.caught_up_to_start():
        raise RuntimeError(f"the derived indexes are {lag} changes behind the store: they have not reached change "
                           f"{r.follower.start_change_id}, the store's head when this instance started")
    return f"{lag} changes behind the store's change feed"


def _embedding(r: Ragd) -> str:
    v = r.embedder.embed_query("readiness probe")
    if v.shape != (r.embedder.dim,) or not np.isfinite(v).all():
        raise RuntimeError(f"the model returned a vector of shape {v.shape}")
    return f"{r.embedder.name} (dim {r.embedder.dim})"


def _llm(r: Ragd) -> str:
    probe = getattr(r.generator, "ping", None)
    if probe is None:
        return f"{getattr(r.generator, 'name', 'generator')}: no LLM to reach"
    probe()
    return f"{r.generator.name} reachable"


def _disk(r: Ragd) -> str:
    h = r.settings.health
    usage = disk_usage(r.settings.data_dir)
    free = usage.total - usage.used
    pct = 100.0 * free / usage.total if usage.total else 0.0
    detail = f"{free / MiB:.0f} MiB free ({pct:.1f} %)"
    if pct < h.min_free_disk_percent or free < h.min_free_disk_mb * MiB:
        raise RuntimeError(f"{detail}; needs {h.min_free_disk_percent} % and {h.min_free_disk_mb:.0f} MiB "
                           "(RAGD_HEALTH__MIN_FREE_DISK_PERCENT / _MB)")
    return detail


def _memory(r: Ragd) -> str:
    usage = memory_usage()
    pct = 100.0 * usage.ratio
    detail = f"{pct:.1f} % of {usage.total / MiB:.0f} MiB in use"
    if pct > r.settings.health.max_memory_percent:
        raise RuntimeError(f"{detail}; limit {r.settings.health.max_memory_percent} % "
                           "(RAGD_HEALTH__MAX_MEMORY_PERCENT)")
    return detail


CHECKS: dict[str, Callable[[Ragd], str]] = {
    "database": _database,
    "index": _index,
    "lexical_index": _lexical,
    "index_lag": _caught_up,
    "embedding_model": _embedding,
    "llm": _llm,
    "disk": _disk,
    "memory": _memory,
}


def readiness(r: Ragd) -> dict[str, Any]:
    """``{"status": "ready"|"not_ready", "index_lag": n, "checks": {name: {"status", "detail", "took_ms"}}}``;
    ``index_lag``: how many change ids the slowest derived index is behind the store (``null`` if unknown)."""
    checks: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        t0 = time.perf_counter()
        try:
            status, detail = "ok", check(r)
        except Exception as exc:
            status, detail = "fail", str(exc) or type(exc).__name__
        took = round((time.perf_counter() - t0) * 1000, 2)
        checks[name] = {"status": status, "detail": detail, "took_ms": took}
    ready = all(c["status"] == "ok" for c in checks.values())
    try:
        lag: int | None = r.index_lag()
    except Exception:  # the database is down: the database check says so
        lag = None
    return {"status": "ready" if ready else "not_ready", "index_lag": lag, "checks": checks}
