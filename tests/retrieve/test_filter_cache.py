"""The per-filter cache behind the retriever's allowed masks and present languages (ragd.retrieve.filter_cache)."""

from __future__ import annotations

from ragd.retrieve.filter_cache import FilterCache


def test_a_value_holds_until_the_store_changes() -> None:
    cache: FilterCache[int] = FilterCache()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get("f", 1, compute) == 1 and cache.get("f", 1, compute) == 1
    assert cache.get("f", 2, compute) == 2  # the store changed: computed again
    assert cache["f"] == (2, 2)


def test_a_value_of_an_older_version_never_replaces_a_newer() -> None:
    cache: FilterCache[str] = FilterCache()
    assert cache.get("f", 5, lambda: "new") == "new"
    assert cache.get("f", 4, lambda: "old") == "old"  # a late reader gets its own answer...
    assert cache["f"] == (5, "new")  # ...but the cache keeps the newer one


def test_least_recently_used_filters_are_evicted() -> None:
    cache: FilterCache[str] = FilterCache(size=2)
    cache.get("a", 1, lambda: "a")
    cache.get("b", 1, lambda: "b")
    cache.get("a", 1, lambda: "a again")  # "a" used last
    cache.get("c", 1, lambda: "c")
    assert cache["a"] == (1, "a") and cache["c"] == (1, "c")
    assert cache.get("b", 1, lambda: "b again") == "b again"  # "b" was evicted
