"""The PostgreSQL table dense search runs on when ``retrieval.dense_index = store`` (:mod:`ragd.store.postgres.dense`).

``chunk_vectors`` holds one row per live chunk that has an embedding for the model the index serves: the chunk's
vector, L2-normalised, and copies of the columns the access filters test (tenant, collection, document id), so an
HNSW index scan tests them on the row itself without a join. Documents never move between tenants or collections,
so the copies cannot go stale; a chunk's row goes with it (``ON DELETE CASCADE``, and so with its document).

How it is filled — a statement-level trigger on ``chunks``, not a follower of the change feed:

* the row is written in the transaction that commits the chunk, so a search on any replica sees exactly the
  committed chunks, with no watermark, no catch-up loop and no window in which a chunk is searchable by BM25 but
  not densely (the change feed's followers are what the in-memory indexes need; a table in the same database
  does not);
* it depends on nothing but the schema of migration 1 (``chunks``, ``documents``, ``embeddings``, ``meta``), which
  every writer of chunks goes through: the store's ``commit_chunks`` guarantees the chunk's embedding is in
  ``embeddings`` before the chunk is inserted, so the trigger always finds it;
* it copies only while the index is enabled: the model and dimension are read from the ``meta`` keys
  :data:`MODEL_KEY` / :data:`DIM_KEY`, which :func:`ensure_dense_index` writes (not from ``embedding_model``:
  the vector column is typed with the dimension, and a replica that switched models before the index was
  re-typed must never make a chunk commit fail). A deployment that keeps the default in-memory index never sets
  them, so its chunk commits pay one primary-key look-up and nothing else.

The vector column starts untyped (the dimension is known only from the configured model):
:func:`ensure_dense_index` types it ``vector(dim)``, fills it from the chunks already stored and builds the HNSW
index (inner product on unit vectors = the cosine of the in-memory :class:`~ragd.index.dense.DenseIndex`).
"""

from __future__ import annotations

from typing import Any

import psycopg

from ragd.errors import ConfigurationError

Conn = psycopg.Connection[Any]

MODEL_KEY = "dense_index_model"
"""``meta`` key: the embedding model whose vectors ``chunk_vectors`` holds (absent: the table is not kept)."""
DIM_KEY = "dense_index_dim"
"""``meta`` key: the dimension of ``chunk_vectors.embedding``."""
HNSW_INDEX = "chunk_vectors_hnsw"
HNSW_M = 16
"""pgvector's defaults (m = 16, ef_construction = 64) reach recall@10 >= 0.99 on the dev sets at the default
``hnsw_ef_search`` (bench/results/pgvector_recall.json)."""
HNSW_EF_CONSTRUCTION = 64
BUILD_MEMORY = "512MB"
"""``maintenance_work_mem`` while the HNSW index is built: the graph of 100k 384-d vectors is ~200 MB, and a build
whose graph spills out of it is several times slower."""
MAX_DIM = 2000
"""pgvector's HNSW limit for ``vector`` columns."""

_FILL = """INSERT INTO chunk_vectors (seq, tenant_id, collection, document_id, embedding)
    SELECT c.seq, d.tenant_id, d.collection, d.id, l2_normalize(e.vector)
    FROM {source} AS c
    JOIN documents AS d ON d.id = c.document_id
    JOIN embeddings AS e ON e.model = {model} AND e.content_hash = c.content_hash
    WHERE vector_dims(e.vector) = {dim}"""


def _m006_dense(conn: Conn) -> None:
    statements = [
        """CREATE TABLE chunk_vectors (
            seq BIGINT PRIMARY KEY REFERENCES chunks (seq) ON DELETE CASCADE,
            tenant_id TEXT NOT NULL,
            collection TEXT NOT NULL,
            document_id TEXT NOT NULL,
            embedding vector NOT NULL
        )""",
        "CREATE INDEX chunk_vectors_scope ON chunk_vectors (tenant_id, collection)",
        "CREATE INDEX chunk_vectors_document ON chunk_vectors (document_id)",
        f"""CREATE FUNCTION ragd_chunk_vectors_fill() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            m TEXT;
            n INTEGER;
        BEGIN
            SELECT value INTO m FROM meta WHERE key = '{MODEL_KEY}';
            IF m IS NULL THEN
                RETURN NULL;
            END IF;
            SELECT value::integer INTO n FROM meta WHERE key = '{DIM_KEY}';
            {_FILL.format(source="new_chunks", model="m", dim="n")};
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER chunks_vectors AFTER INSERT ON chunks REFERENCING NEW TABLE AS new_chunks
            FOR EACH STATEMENT EXECUTE FUNCTION ragd_chunk_vectors_fill()""",
    ]
    for sql in statements:
        conn.execute(sql)  # type: ignore[call-overload]


def _meta(conn: Conn, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
    return None if row is None else str(row[0])


def _set_meta(conn: Conn, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = "
                 "EXCLUDED.value", (key, value))


def dense_index_state(conn: Conn) -> tuple[str, int] | None:
    """``(model, dim)`` the table is kept for, or ``None`` when it is not kept."""
    model, dim = _meta(conn, MODEL_KEY), _meta(conn, DIM_KEY)
    return None if model is None or dim is None else (model, int(dim))


def ensure_dense_index(conn: Conn, model: str, dim: int, *, force: bool = False) -> bool:
    """Make ``chunk_vectors`` hold the vectors of ``model`` (``dim``-d) with its HNSW index; returns whether it
    (re)built anything. Nothing happens when it already does, unless ``force`` (a rebuild). Runs inside the caller's
    transaction, which must hold ``CHANGES_LOCK`` (no chunk is committed while the table is refilled, and two
    replicas starting together build once)."""
    if not 0 < dim <= MAX_DIM:
        raise ConfigurationError(f"retrieval.dense_index = store: pgvector's HNSW index takes at most {MAX_DIM} "
                                 f"dimensions, the model {model!r} has {dim}")
    if not force and dense_index_state(conn) == (model, dim) and conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (HNSW_INDEX,)).fetchone()[0]:
        return False
    conn.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")  # type: ignore[call-overload]
    conn.execute("DELETE FROM chunk_vectors")
    conn.execute(f"ALTER TABLE chunk_vectors ALTER COLUMN embedding TYPE vector({int(dim)})")  # type: ignore[call-overload]
    conn.execute(_FILL.format(source="chunks", model="%s", dim="%s"), (model, dim))  # type: ignore[call-overload]
    conn.execute(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")  # type: ignore[call-overload]
    conn.execute(  # type: ignore[call-overload]
        f"CREATE INDEX {HNSW_INDEX} ON chunk_vectors USING hnsw (embedding vector_ip_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")
    _set_meta(conn, MODEL_KEY, model)
    _set_meta(conn, DIM_KEY, str(int(dim)))
    conn.execute("ANALYZE chunk_vectors")
    return True
