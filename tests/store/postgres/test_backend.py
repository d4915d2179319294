"""The PostgreSQL backend's foundation: migrations, the unit of work, clear errors."""

from __future__ import annotations

import psycopg
import pytest

from ragd.errors import StoreUnavailable
from ragd.store.backend import open_backend
from ragd.store.postgres.connection import Database, to_array


def test_migrate_is_idempotent_and_creates_the_schema(pg_url: str) -> None:
    backend = open_backend(pg_url)
    try:
        assert backend.migrate() == 0
        db = Database(pg_url)
        try:
            tables = {r[0] for r in db.conn().execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
        finally:
            db.close()
        assert {"documents", "chunks", "changes", "jobs", "embeddings", "ragd_schema"} <= tables
    finally:
        backend.close()


def test_unit_of_work_rolls_back_every_statement(pg_url: str) -> None:
    backend = open_backend(pg_url)
    db = Database(pg_url)
    try:
        with pytest.raises(RuntimeError), backend.unit_of_work():
            db.conn().execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
            with db.write():  # a nested unit of work is a savepoint of the same transaction
                db.conn().execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
            raise RuntimeError("boom")
        assert db.conn().execute("SELECT count(*) FROM meta").fetchone()[0] == 0
        with backend.unit_of_work():
            db.conn().execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
        assert db.conn().execute("SELECT value FROM meta WHERE key = 'a'").fetchone()[0] == "1"
    finally:
        db.close()
        backend.close()


def test_unreachable_server_names_the_url_without_its_password() -> None:
    from tests.support import free_port

    url = f"postgresql://ragd:s3cret@127.0.0.1:{free_port()}/ragd"
    with pytest.raises(StoreUnavailable) as err:
        open_backend(url)
    assert "s3cret" not in str(err.value)
    assert "postgresql://ragd:***@127.0.0.1:" in str(err.value)


def test_vectors_round_trip_as_arrays(pg_url: str) -> None:
    import numpy as np

    backend = open_backend(pg_url)
    db = Database(pg_url)
    try:
        v = np.arange(4, dtype=np.float32)
        db.conn().execute("INSERT INTO embeddings (model, content_hash, vector) VALUES ('m', 'h', %s)", (v,))
        got = to_array(db.conn().execute("SELECT vector FROM embeddings").fetchone()[0])
        assert got.dtype == np.float32 and got.tolist() == v.tolist()
    finally:
        db.close()
        backend.close()
    assert psycopg  # the driver is a test dependency (ragd[postgres])
