"""Migration of the originals kept in the database (:class:`ragd.store.postgres.blobs.PostgresBlobStore`)."""

from __future__ import annotations

from typing import Any

import psycopg


def _m007_blobs(conn: psycopg.Connection[Any]) -> None:
    """``blobs``: one row per stored original, as the :class:`~ragd.ingest.files.FileStore` hands it over
    (AES-GCM sealed when a key is set). ``size`` is the stored length (``octet_length(data)`` without reading the
    value); ``created_at`` (epoch seconds) tells ``ragd doctor`` an orphan from an upload in flight. The column is
    stored ``EXTERNAL`` (out of line, not compressed): sealed originals are random bytes that do not compress,
    and reading a header (``substring``) then touches only its first chunk."""
    conn.execute("""CREATE TABLE blobs (
        key TEXT PRIMARY KEY,
        data BYTEA NOT NULL,
        size BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""")
    conn.execute("ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL")
