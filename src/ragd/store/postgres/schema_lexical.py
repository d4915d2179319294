"""Migration ``_m002_lexical``: the lexical state of the PostgreSQL store, from which a replica rebuilds nothing
(its in-memory BM25 index reads ``chunks.lex`` through the change feed) but :meth:`PostgresStore.search_lexical`
answers BM25 queries inside the database (:mod:`ragd.store.postgres.lexical`).

* ``lexical_terms (term, seq, tf, length)``: one posting per distinct token of each chunk's analysed text, with
  the token's frequency in the chunk and the chunk's token count (copied into each posting, so a query scores its
  postings without a look-up per chunk). About 110 bytes per posting with its indexes, ~100 postings per chunk of
  ~120 tokens: the lexical state is the bulk of a chunk's footprint in PostgreSQL (docs/scaling.md).
* ``lexical_docs (seq, length)``: one row per chunk (empty ones too: they count in BM25's document count, as they
  do in FTS5's), deleted with its chunk (``ON DELETE CASCADE``).
* ``lexical_stats``: one row, the document count and the token total over ``lexical_docs``, kept by
  statement-level triggers on it (which also delete the postings of deleted rows), so BM25's ``N`` and average
  length cost one row read per query. Every writer of chunks holds ``CHANGES_LOCK``, so the row is never
  contended beyond that lock.

The same migration numbers documents in insertion order (``documents.ord``, an identity column: SQLite's rowid),
which the store needs with them: versions of a file name are inserted under a lock per name
(:mod:`ragd.store.postgres.submit`), so ``ord`` orders them as their commits, whatever the replicas' clocks.

The postings are written by the store in the transaction that inserts the chunks (tokenising is Python's:
:func:`ragd.index.lexical.tokens`, FTS5's ``unicode61`` rules, which SQL cannot reproduce); chunks that exist when
this migration runs are tokenised here.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ragd.store.postgres.lexical import write_postings

Conn = psycopg.Connection[Any]

_BACKFILL_BATCH = 5_000


def _m002_lexical(conn: Conn) -> None:
    statements = [
        "ALTER TABLE documents ADD COLUMN ord BIGINT GENERATED ALWAYS AS IDENTITY",
        "CREATE INDEX documents_name_order ON documents (tenant_id, collection, filename, ord)",
        """CREATE TABLE lexical_docs (
            seq BIGINT PRIMARY KEY REFERENCES chunks (seq) ON DELETE CASCADE,
            length INTEGER NOT NULL
        )""",
        """CREATE TABLE lexical_terms (
            term TEXT NOT NULL,
            seq BIGINT NOT NULL,
            tf INTEGER NOT NULL,
            length INTEGER NOT NULL,
            PRIMARY KEY (term, seq)
        )""",
        "CREATE INDEX lexical_terms_seq ON lexical_terms (seq)",
        """CREATE TABLE lexical_stats (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            docs BIGINT NOT NULL,
            tokens BIGINT NOT NULL
        )""",
        "INSERT INTO lexical_stats (id, docs, tokens) VALUES (1, 0, 0)",
        """CREATE FUNCTION ragd_lexical_added() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE lexical_stats SET docs = docs + (SELECT count(*) FROM added),
                tokens = tokens + (SELECT COALESCE(sum(length), 0) FROM added) WHERE id = 1;
            RETURN NULL;
        END $$""",
        """CREATE FUNCTION ragd_lexical_removed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM lexical_terms WHERE seq IN (SELECT seq FROM removed);
            UPDATE lexical_stats SET docs = docs - (SELECT count(*) FROM removed),
                tokens = tokens - (SELECT COALESCE(sum(length), 0) FROM removed) WHERE id = 1;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER lexical_docs_added AFTER INSERT ON lexical_docs REFERENCING NEW TABLE AS added
            FOR EACH STATEMENT EXECUTE FUNCTION ragd_lexical_added()""",
        """CREATE TRIGGER lexical_docs_removed AFTER DELETE ON lexical_docs REFERENCING OLD TABLE AS removed
            FOR EACH STATEMENT EXECUTE FUNCTION ragd_lexical_removed()""",
    ]
    for sql in statements:
        conn.execute(sql)  # type: ignore[call-overload]
    after = 0
    while True:
        rows = conn.execute(
            "SELECT seq, lex FROM chunks WHERE seq > %s ORDER BY seq LIMIT %s", (after, _BACKFILL_BATCH)
        ).fetchall()
        if not rows:
            return
        write_postings(conn, rows)
        after = int(rows[-1][0])
