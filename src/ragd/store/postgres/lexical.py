"""BM25 inside PostgreSQL over the postings of migration ``_m002_lexical`` (:mod:`ragd.store.postgres.schema_lexical`),
scoring as SQLite's FTS5 ``bm25()`` and, operation for operation, as the in-memory
:class:`~ragd.index.lexical.LexicalIndex`, so the three rank alike and give the same scores:

* tokens are :func:`ragd.index.lexical.tokens` of the analysed text (FTS5's ``unicode61`` rules);
* k1 = 1.2, b = 0.75; ``N`` and the average length over every chunk (``lexical_stats``), whatever the filters;
* per query term ``idf = ln((N - n + 0.5) / (n + 0.5))``, or 1e-6 when not positive, where ``n`` counts the
  chunks the term matches over the whole index (a filter narrows what is returned, never the statistics);
* the score of a chunk is the sum over the query's terms, in query order (a term given twice counts twice), of
  ``idf * (tf * (k1 + 1)) / (tf + k1 * (1 - b + b * len / avglen))`` in double precision, summed in the same
  order as the in-memory index sums, so the floating-point results are the same to the last bit.

A query term the tokenizer splits into several tokens (``o'brien``) matches the chunks holding all of them, with
the smallest of their frequencies: the in-memory index's rule (FTS5 also wants them adjacent; the engines can
differ on such terms only). Filters (:mod:`ragd.store.postgres.filters`) are conditions of the same statement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import psycopg

from ragd.index.lexical import K1, B, tokens

Conn = psycopg.Connection[Any]


def write_postings(conn: Conn, rows: Sequence[tuple[int, str]]) -> None:
    """Index chunks ``(seq, analysed text)`` (in the transaction that inserts them): their lengths in
    ``lexical_docs`` (the statistics follow by trigger) and their postings in ``lexical_terms``."""
    if not rows:
        return
    seqs: list[int] = []
    lengths: list[int] = []
    terms: list[str] = []
    term_seqs: list[int] = []
    tfs: list[int] = []
    term_lengths: list[int] = []
    for seq, lex in rows:
        toks = tokens(lex)
        seqs.append(int(seq))
        lengths.append(len(toks))
        for term, tf in Counter(toks).items():
            terms.append(term)
            term_seqs.append(int(seq))
            tfs.append(tf)
            term_lengths.append(len(toks))
    conn.execute(
        "INSERT INTO lexical_docs (seq, length) SELECT * FROM unnest(%s::bigint[], %s::integer[])", (seqs, lengths)
    )
    if terms:  # COPY: about twice as fast as an INSERT for the ~100 postings of each chunk
        with conn.cursor() as cur, cur.copy(
            "COPY lexical_terms (term, seq, tf, length) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "int8", "int4", "int4"])
            for row in zip(terms, term_seqs, tfs, term_lengths, strict=True):
                copy.write_row(row)


def query_terms(terms: Sequence[str]) -> tuple[list[int], list[str], list[int], list[int]] | None:
    """The query as arrays for :func:`search_sql`: each distinct term (as its set of distinct tokens) with its
    tokens ``(term index, token, token count)``, and the occurrences in query order (``occurrence → term
    index``). ``None`` when no term has a token."""
    keys: dict[frozenset[str], int] = {}
    occurrences: list[int] = []
    for term in terms:
        if not isinstance(term, str):
            continue
        toks = frozenset(tokens(term))
        if not toks:
            continue
        occurrences.append(keys.setdefault(toks, len(keys)))
    if not occurrences:
        return None
    term_ids: list[int] = []
    toks_out: list[str] = []
    counts: list[int] = []
    for toks, index in keys.items():
        for tok in sorted(toks):
            term_ids.append(index)
            toks_out.append(tok)
            counts.append(len(toks))
    return term_ids, toks_out, counts, occurrences


def search_sql(join: str, condition: str) -> str:
    """The BM25 statement; parameters: the four arrays of :func:`query_terms`, then :func:`constants`, then the
    filter's parameters, then the limit. ``join``/``condition`` narrow the chunks returned (alias ``c`` is the
    chunk; :func:`ragd.store.postgres.filters.joined_conditions`)."""
    narrow = ""
    if condition:
        narrow = f"JOIN chunks AS c ON c.seq = h.seq {join} WHERE {condition}"
    return f"""
        WITH toks (ti, tok, ntok) AS (SELECT * FROM unnest(%s::integer[], %s::text[], %s::integer[])),
        occ (i, ti) AS (SELECT o.i::integer - 1, o.ti FROM unnest(%s::integer[]) WITH ORDINALITY AS o (ti, i)),
        stats AS (SELECT docs::float8 AS n, tokens::float8 / docs::float8 AS avglen FROM lexical_stats
                  WHERE id = 1 AND docs > 0),
        hits AS (
            SELECT k.ti, p.seq, min(p.tf)::float8 AS tf, min(p.length)::float8 AS len
            FROM toks AS k JOIN lexical_terms AS p ON p.term = k.tok
            GROUP BY k.ti, p.seq HAVING count(*) = min(k.ntok)
        ),
        idf AS (
            SELECT ti, CASE WHEN x <= 0 THEN %s::float8 ELSE x END AS idf FROM (
                SELECT h.ti, ln((s.n - count(*)::float8 + %s::float8) / (count(*)::float8 + %s::float8)) AS x
                FROM hits AS h CROSS JOIN stats AS s GROUP BY h.ti, s.n
            ) AS raw
        ),
        params (k1p1, k1, omb, b) AS (SELECT %s::float8, %s::float8, %s::float8, %s::float8),
        scored AS (
            SELECT h.seq, sum(
                i.idf * (h.tf * q.k1p1) / (h.tf + q.k1 * (q.omb + q.b * h.len / s.avglen)) ORDER BY o.i
            ) AS score
            FROM occ AS o JOIN hits AS h ON h.ti = o.ti JOIN idf AS i ON i.ti = o.ti
            CROSS JOIN stats AS s CROSS JOIN params AS q
            {narrow}
            GROUP BY h.seq
        )
        SELECT seq, score FROM scored ORDER BY score DESC, seq LIMIT %s"""


def constants() -> list[float]:
    """The float parameters of :func:`search_sql` after the query arrays, computed as the in-memory index
    computes them (``K1 + 1.0``, ``1 - B``)."""
    return [1e-6, 0.5, 0.5, K1 + 1.0, K1, 1 - B, B]
