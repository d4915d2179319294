"""Dense search inside PostgreSQL (``retrieval.dense_index = store``): pgvector HNSW over ``chunk_vectors``
(:mod:`ragd.store.postgres.schema_dense`), for corpora larger than a replica's memory.

:class:`PgVectorSearch` has the shape of the in-memory :class:`~ragd.index.dense.DenseIndex` that the rest of
ragd uses (``search``, ``vectors``, ``sync``, ``rebuild``, ``save``, ``load``, ``watermark``, ``len``), with one
difference: :meth:`PgVectorSearch.search` takes the :class:`~ragd.models.SearchFilters` themselves, not a mask of
allowed seqs, and applies every one of them (tenant, readable collections, collections, document ids, mimes,
metadata) in the WHERE clause of the one SQL query that ranks, never by trimming results afterwards.

Scoring is the in-memory index's exactly: vectors are stored L2-normalised and ranked by inner product (pgvector's
``<#>``, the negated dot product, with the ``vector_ip_ops`` HNSW index), so a score is the cosine; in exact mode
(``exact=True``: index scans off, a sequential or bitmap scan and a sort) ids and scores equal ``DenseIndex``'s
up to float32 rounding (tests/store/postgres/test_dense.py).

Approximate mode: ``hnsw.ef_search`` (at least ``k``, pgvector's cap 1000) and ``hnsw.iterative_scan`` (pgvector
0.8), set for the query's transaction only. Without iterative scan, a filter applied to the index scan's ``ef``
candidates can starve the result (10% allowed and ef 100 leave ~10); with it, the scan goes on through the graph
until ``k`` rows pass the filter or ``hnsw.max_scan_tuples`` (20,000 by default) were visited.
``relaxed_order`` (the default) may return rows slightly out of order: they are sorted here. When a filter is so
selective that the scan gives up with fewer than ``k`` rows, the same query runs again exactly (a selective filter
is exactly when an exact search is cheap: the planner then reads the few allowed rows through the b-tree indexes on
the filter columns), so a search returns ``k`` results whenever ``k`` chunks pass the filter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import psycopg

from ragd.errors import ModelMismatch
from ragd.models import SearchFilters
from ragd.store.base import Store
from ragd.store.postgres import schema_dense
from ragd.store.postgres.connection import Database, to_array
from ragd.store.postgres.schema import CHANGES_LOCK
from ragd.store.sqlite.filters import validate

IterativeScan = Literal["relaxed_order", "strict_order", "off"]
EF_SEARCH_MAX = 1000
"""pgvector's upper bound for ``hnsw.ef_search``."""


def filter_conditions(filters: SearchFilters | None, alias: str = "v") -> tuple[str, dict[str, Any]]:
    """``(sql, params)``: one condition on ``chunk_vectors`` (``alias``) for ``filters`` (``("TRUE", {})`` when
    nothing narrows). The denormalised columns are tested on the row; mimes and metadata, which live on the
    document, through ``document_id = ANY(ARRAY(SELECT …))``: an init plan run once per query, so an HNSW index
    scan still tests one array membership per visited row rather than joining. Same language as SQLite's
    (:mod:`ragd.store.sqlite.filters`): metadata values compare as JSON values (``1`` matches ``1.0``, not
    ``"1"`` nor ``true``), a list means any of them."""
    f = validate(filters)
    if f is None:
        return "TRUE", {}
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if f.tenant_id is not None:
        conditions.append(f"{alias}.tenant_id = %(tenant_id)s")
        params["tenant_id"] = f.tenant_id
    if f.readable is not None:
        if not f.readable:
            return "FALSE", {}
        conditions.append(f"{alias}.collection = ANY(%(readable)s::text[])")
        params["readable"] = f.readable
    if f.collections:
        conditions.append(f"{alias}.collection = ANY(%(collections)s::text[])")
        params["collections"] = f.collections
    if f.document_ids:
        conditions.append(f"{alias}.document_id = ANY(%(document_ids)s::text[])")
        params["document_ids"] = f.document_ids
    doc: list[str] = []
    if f.mimes:
        doc.append("d.mime = ANY(%(mimes)s::text[])")
        params["mimes"] = f.mimes
    for i, (key, values) in enumerate((f.metadata or {}).items()):
        doc.append(f"(d.metadata::jsonb -> %(mk{i})s) = ANY(%(mv{i})s::jsonb[])")
        params[f"mk{i}"] = key
        params[f"mv{i}"] = [json.dumps(v) for v in values]
    if doc:
        # the scope conditions again, on the document: they keep the array to the caller's own documents
        if "tenant_id" in params:
            doc.append("d.tenant_id = %(tenant_id)s")
        doc.extend(f"d.collection = ANY(%({name})s::text[])" for name in ("readable", "collections") if name in params)
        conditions.append(
            f"{alias}.document_id = ANY(ARRAY(SELECT d.id FROM documents AS d WHERE {' AND '.join(doc)}))")
    return " AND ".join(conditions), params


class PgVectorSearch:
    """``PgVectorSearch(url, model, dim)``: cosine search over ``chunk_vectors`` in PostgreSQL.

    Call :meth:`ensure_dense_index` once at start-up (the composition root does): it types the table for ``dim``,
    fills it and builds the HNSW index the first time, or after a model change, and does nothing otherwise.
    """

    def __init__(
        self, url: str, model: str, dim: int, *, ef_search: int = 100,
        iterative_scan: IterativeScan = "relaxed_order", exact: bool = False,
    ) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        self.url = url
        self.model = model
        self.dim = int(dim)
        self.ef_search = int(ef_search)
        self.iterative_scan = iterative_scan
        self.exact = exact
        self.exact_fallbacks = 0
        """How many approximate searches fell back to an exact one (a filter the iterative scan gave up on)."""
        self._db = Database(url)

    def close(self) -> None:
        self._db.close()

    # -- the table -------------------------------------------------------------------------------------------
    def ensure_dense_index(self, *, force: bool = False) -> bool:
        """Keep ``chunk_vectors`` for this model: (re)typed, filled and indexed when it is not yet (or ``force``).
        Returns whether it was built. Chunk commits wait meanwhile (the build holds the change-log lock)."""
        with self._db.write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (CHANGES_LOCK,))
            return schema_dense.ensure_dense_index(conn, self.model, self.dim, force=force)

    # -- the DenseIndex interface the rest of ragd uses --------------------------------------------------------
    @property
    def watermark(self) -> int:
        """Always the store's last change id: the table is written in the transaction that commits the chunks."""
        row = self._db.conn().execute("SELECT COALESCE(MAX(change_id), 0) FROM changes").fetchone()
        return int(row[0])

    def sync(self, store: Store | None = None, batch: int = 0) -> int:
        """Nothing to catch up (see :attr:`watermark`). Returns 0."""
        return 0

    def save(self) -> None:
        """Nothing to save: the index lives in the database."""

    def load(self) -> bool:
        return True

    def rebuild(self, store: Store | None = None) -> int:
        """Refill the table and rebuild the HNSW index from the chunks and embeddings. Returns the row count."""
        self.ensure_dense_index(force=True)
        return len(self)

    def __len__(self) -> int:
        row = self._db.conn().execute("SELECT count(*) FROM chunk_vectors").fetchone()
        return int(row[0])

    def vectors(self, seqs: Iterable[int]) -> dict[int, np.ndarray]:
        """The (unit) vectors of the given seqs that the table holds."""
        wanted = [int(s) for s in seqs]
        if not wanted:
            return {}
        rows = self._db.conn().execute(
            "SELECT seq, embedding FROM chunk_vectors WHERE seq = ANY(%s::bigint[])", (wanted,)).fetchall()
        return {int(seq): to_array(vec) for seq, vec in rows}

    # -- search ----------------------------------------------------------------------------------------------
    def _query(self, query: np.ndarray, k: int, filters: SearchFilters | None) -> tuple[str, dict[str, Any]]:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ModelMismatch(f"query of dimension {q.shape[0]} for a {self.dim}-d index")
        norm = float(np.linalg.norm(q))
        if norm > 0:
            q = q / norm
        where, params = filter_conditions(filters)
        params.update(q=q, k=int(k))
        sql = (f"SELECT v.seq, v.embedding <#> %(q)s AS distance FROM chunk_vectors AS v WHERE {where} "
               "ORDER BY v.embedding <#> %(q)s LIMIT %(k)s")
        return sql, params

    def _settings(self, conn: Any, k: int, exact: bool) -> None:
        if exact:
            conn.execute("SET LOCAL enable_indexscan = off")
            return
        conn.execute("SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true)",
                     (str(min(max(self.ef_search, k), EF_SEARCH_MAX)), self.iterative_scan))

    def search(self, query: np.ndarray, k: int, filters: SearchFilters | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest seqs by cosine, best first, as ``(seq, score)``, among the chunks that pass
        ``filters`` (all of them when ``None``)."""
        sql, params = self._query(query, k, filters)
        if k <= 0:
            return []
        try:
            with self._db.read() as conn:
                self._settings(conn, k, self.exact)
                rows = conn.execute(sql, params).fetchall()
                if len(rows) < k and not self.exact:
                    # the iterative scan stopped at hnsw.max_scan_tuples (or fewer than k chunks pass): exact answer
                    self.exact_fallbacks += 1
                    self._settings(conn, k, exact=True)
                    rows = conn.execute(sql, params).fetchall()
        except psycopg.errors.DataException as exc:  # "different vector dimensions": another replica's model
            raise ModelMismatch(f"the database's dense index no longer holds {self.dim}-d vectors of {self.model!r} "
                                "(a replica with another embedding model rebuilt it): restart with that model "
                                "or run `ragd reindex`") from exc
        hits = [(int(seq), -float(distance)) for seq, distance in rows]
        hits.sort(key=lambda hit: -hit[1])  # relaxed_order may return rows slightly out of order
        return hits

    def explain(self, query: np.ndarray, k: int, filters: SearchFilters | None = None) -> str:
        """The plan PostgreSQL chooses for :meth:`search` (for operators and tests: is the HNSW index used?)."""
        sql, params = self._query(query, k, filters)
        with self._db.read() as conn:
            self._settings(conn, k, self.exact)
            rows = conn.execute(f"EXPLAIN {sql}", params).fetchall()
        return "\n".join(str(r[0]) for r in rows)
