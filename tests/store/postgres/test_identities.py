"""The PostgreSQL identity store: the shared conformance suite, and refresh-token rotation from two replicas (two
backends on one database) at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from ragd.auth.identities import IdentityStore, RefreshUse, User
from ragd.store.backend import Backend, open_backend
from ragd.testing.identity_conformance import IdentityStoreConformance


class TestPostgresIdentities(IdentityStoreConformance):
    @pytest.fixture
    def identities(self, pg_url: str) -> Iterator[IdentityStore]:
        backend = open_backend(pg_url)
        yield backend.identities
        backend.close()


@pytest.fixture
def replicas(pg_url: str) -> Iterator[tuple[Backend, Backend]]:
    one, two = open_backend(pg_url), open_backend(pg_url)
    one.identities.ensure_tenant("default", 0.0)
    one.identities.add_user(User("u1", "u1@example.org", "user", "default", "hash", created_at=0.0))
    yield one, two
    two.close()
    one.close()


def _together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls on threads of their own, released at the same moment."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


ROUNDS = 15


def test_one_token_presented_on_two_replicas_at_once_wins_once_and_the_reuse_is_detected(
        replicas: tuple[Backend, Backend]) -> None:
    one, two = replicas
    for i in range(ROUNDS):
        token, family = f"t{i}", f"fam{i}"
        assert one.identities.add_refresh(token, "u1", family, 1e12, 1.0)
        now = time.time()
        results = _together(partial(one.identities.use_refresh, token, now),
                            partial(two.identities.use_refresh, token, now))
        assert sorted(results, key=lambda r: r.replayed) == [
            RefreshUse("u1", family), RefreshUse("u1", family, replayed=True)]
        # the winner's rotation comes too late: its family is revoked
        assert one.identities.add_refresh(f"{token}-next", "u1", family, 1e12, now) is False
        assert two.identities.use_refresh(f"{token}-next", now + 1) is None


def test_a_rotation_racing_with_a_replay_leaves_no_live_token(replicas: tuple[Backend, Backend]) -> None:
    one, two = replicas

    def rotate(store: IdentityStore, token: str, family: str) -> RefreshUse | None:
        started = time.time()
        used = store.use_refresh(token, started)
        if used is not None and not used.replayed:
            store.add_refresh(f"{token}-next", used.user_id, family, 1e12, started)
        return used

    for i in range(ROUNDS):
        token, family = f"t{i}", f"fam{i}"
        assert one.identities.add_refresh(token, "u1", family, 1e12, 1.0)
        results = _together(partial(rotate, one.identities, token, family),
                            partial(rotate, two.identities, token, family))
        assert sorted(r.replayed for r in results) == [False, True]
        assert one.identities.use_refresh(f"{token}-next", time.time()) is None


def _refresh(store: IdentityStore, token: str, family: str) -> None:
    started = time.time()
    used = store.use_refresh(token, started)
    if used is not None and not used.replayed:
        store.add_refresh(f"{token}-next", used.user_id, family, 1e12, started)


def _end_sessions(store: IdentityStore, user_id: str) -> int:
    return store.end_sessions(user_id, time.time())


def test_ending_sessions_while_a_replica_refreshes_leaves_no_live_token(replicas: tuple[Backend, Backend]) -> None:
    one, two = replicas
    for i in range(ROUNDS):
        token = f"t{i}"
        assert one.identities.add_refresh(token, "u1", f"fam{i}", 1e12, time.time())

        _together(partial(_refresh, one.identities, token, f"fam{i}"),
                  partial(_end_sessions, two.identities, "u1"))
        later = time.time() + 1
        assert one.identities.use_refresh(f"{token}-next", later) is None
        assert one.identities.use_refresh(token, later) in (None, RefreshUse("u1", f"fam{i}", replayed=True))
