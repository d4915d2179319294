"""The SQLite identity store's sessions: refresh-token use, replay, and ending every session of a user."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ragd.auth.identities import RefreshUse, User
from ragd.store.sqlite.identities import SqliteIdentityStore

pytestmark = pytest.mark.sqlite_only  # the SQLite adapter itself: its file, connections, migrations


def _store(tmp_path: Path) -> SqliteIdentityStore:
    store = SqliteIdentityStore(tmp_path / "ragd.sqlite3")
    store.migrate()
    store.ensure_tenant("default", 0.0)
    for uid in ("u1", "u2"):
        store.add_user(User(uid, f"{uid}@example.org", "user", "default", "hash", created_at=0.0))
    return store


def test_a_used_refresh_token_presented_again_is_a_replay_and_revokes_its_family(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add_refresh("t1", "u1", "fam", 1e12, 1.0)
    assert store.use_refresh("t1", 2.0) == RefreshUse("u1", "fam")
    store.add_refresh("t2", "u1", "fam", 1e12, 2.0)
    assert store.use_refresh("t1", 3.0) == RefreshUse("u1", "fam", replayed=True)
    assert store.use_refresh("t2", 4.0) is None  # revoked with its family, never used: not a replay
    assert store.use_refresh("unknown", 4.0) is None
    store.close()


def test_end_sessions_revokes_every_refresh_token_of_the_user_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for token, user, family in (("a", "u1", "f1"), ("b", "u1", "f2"), ("c", "u2", "f3")):
        store.add_refresh(token, user, family, 1e12, 1.0)
    assert store.get_user("u1").sessions_after is None  # type: ignore[union-attr]
    before = time.time()
    assert store.end_sessions("u1", 5.5) == 2
    ended = store.get_user("u1").sessions_after  # type: ignore[union-attr]
    assert ended is not None and ended >= before  # the moment of the write, not an older "now"
    assert store.use_refresh("a", 6.0) is None and store.use_refresh("b", 6.0) is None
    assert store.use_refresh("c", 6.0) == RefreshUse("u2", "f3")
    assert store.get_user("u2").sessions_after is None  # type: ignore[union-attr]
    # A sign-in or refresh that started before the end cannot store its new refresh token.
    assert store.add_refresh("late", "u1", "f4", 1e12, before - 1) is False
    assert store.use_refresh("late", ended + 1) is None
    assert store.add_refresh("after", "u1", "f5", 1e12, ended + 1) is True
    store.close()
