""":class:`~ragd.models.SearchFilters` as PostgreSQL SQL, with the semantics of the SQLite translation
(:mod:`ragd.store.sqlite.filters`, whose :func:`~ragd.store.sqlite.filters.validate` both engines share).

Lists are bound as one array parameter each (``= ANY(%s)``), so no list length meets a parameter limit. A metadata
condition compares the document's value at the key as ``jsonb`` (``metadata::jsonb -> key``) with the wanted
values encoded as JSON: jsonb equality is the JSON equality SQLite's ``json_each`` test implements — a string
equals only that string, a number only an equal number (``1`` equals ``1.0``), ``true``/``false`` only themselves,
never a string or a number — and a list of wanted values is "any of". Metadata is written as JSON that jsonb
accepts (:func:`ragd.store.postgres.submit.metadata_json`), so the cast cannot fail on a stored row.
"""

from __future__ import annotations

import json
from typing import Any

from ragd.models import SearchFilters
from ragd.store.sqlite.filters import validate

__all__ = ["chunk_conditions", "document_conditions", "joined_conditions", "validate"]


def document_conditions(filters: SearchFilters, alias: str = "d") -> tuple[list[str], list[Any]]:
    """SQL conditions on the documents table (``alias``): tenant, readable collections, collections, mimes,
    metadata."""
    conditions: list[str] = []
    params: list[Any] = []
    if filters.tenant_id is not None:
        conditions.append(f"{alias}.tenant_id = %s")
        params.append(filters.tenant_id)
    if filters.readable is not None:
        if filters.readable:
            conditions.append(f"{alias}.collection = ANY(%s::text[])")
            params.append(list(filters.readable))
        else:
            conditions.append("FALSE")
    if filters.collections:
        conditions.append(f"{alias}.collection = ANY(%s::text[])")
        params.append(list(filters.collections))
    if filters.mimes:
        conditions.append(f"{alias}.mime = ANY(%s::text[])")
        params.append(list(filters.mimes))
    for key, values in (filters.metadata or {}).items():
        conditions.append(f"({alias}.metadata::jsonb -> %s::text) = ANY(%s::text[]::jsonb[])")
        params.extend([key, [json.dumps(v) for v in values]])
    return conditions, params


def _document_ids(filters: SearchFilters, alias: str) -> tuple[list[str], list[Any]]:
    if not filters.document_ids:
        return [], []
    return [f"{alias}.document_id = ANY(%s::text[])"], [list(filters.document_ids)]


def chunk_conditions(filters: SearchFilters | None, alias: str = "c") -> tuple[str, list[Any]]:
    """``(sql, params)``: a condition on the chunks table (``alias``), ``("", [])`` when nothing narrows.
    ``filters`` must have gone through :func:`validate`."""
    if filters is None:
        return "", []
    conditions, params = _document_ids(filters, alias)
    doc_conditions, doc_params = document_conditions(filters, "d")
    if doc_conditions:
        conditions.append(
            f"{alias}.document_id IN (SELECT d.id FROM documents AS d WHERE {' AND '.join(doc_conditions)})")
        params.extend(doc_params)
    return " AND ".join(conditions), params


def joined_conditions(filters: SearchFilters | None, chunk: str = "c", doc: str = "d") -> tuple[str, str, list[Any]]:
    """``(join, condition, params)`` for a query that reaches chunks one by one (the lexical search): the
    document-level conditions tested on each chunk's document through a join on its key. ``join`` is ``""`` when
    no document condition applies."""
    if filters is None:
        return "", "", []
    conditions, params = _document_ids(filters, chunk)
    doc_conditions, doc_params = document_conditions(filters, doc)
    join = ""
    if doc_conditions:
        join = f"JOIN documents AS {doc} ON {doc}.id = {chunk}.document_id"
        conditions.extend(doc_conditions)
        params.extend(doc_params)
    return join, " AND ".join(conditions), params
