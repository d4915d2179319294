"""Validation of :class:`~ragd.models.SearchFilters` and their translation to SQLite SQL.

The filter language (shared by every adapter, see :mod:`ragd.store.base`):

* ``collections``, ``document_ids``, ``mimes``: lists of strings; a chunk passes if its value is in the list.
  ``None`` or an empty list does not narrow.
* ``metadata``: ``{key: value}``; a document passes if, for every key, its metadata has that key with a value
  equal to ``value`` (JSON equality: strings to strings, numbers to numbers, booleans to booleans), or, when
  ``value`` is a non-empty list, equal to any of its items. Values must be strings, numbers or booleans.

Anything else raises :class:`ragd.errors.InvalidFilter`. Every list is bound as one JSON parameter and read
with ``json_each`` so no list length ever hits SQLite's parameter limit.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ragd.errors import InvalidFilter
from ragd.models import SearchFilters

_SCALARS = (str, int, float, bool)


def _string_list(name: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidFilter(f"filter '{name}' must be a list of strings")
    if not all(isinstance(item, str) for item in value):
        raise InvalidFilter(f"filter '{name}' must contain only strings")
    return list(value) or None


def _check_scalar(key: str, value: Any) -> None:
    if not isinstance(value, _SCALARS):
        raise InvalidFilter(
            f"metadata filter '{key}': values must be strings, numbers or booleans, "
            f"not {type(value).__name__}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidFilter(f"metadata filter '{key}': numbers must be finite")


def _metadata(value: Any) -> dict[str, list[Any]] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidFilter("filter 'metadata' must be an object of key: value")
    out: dict[str, list[Any]] = {}
    for key, wanted in value.items():
        if not isinstance(key, str) or not key:
            raise InvalidFilter("metadata filter keys must be non-empty strings")
        if isinstance(wanted, list | tuple):
            if not wanted:
                raise InvalidFilter(f"metadata filter '{key}': an any-of list must not be empty")
            for item in wanted:
                _check_scalar(key, item)
            out[key] = list(wanted)
        else:
            _check_scalar(key, wanted)
            out[key] = [wanted]
    return out or None


def validate(filters: SearchFilters | None) -> SearchFilters | None:
    """A normalised copy of ``filters`` (``None`` if it narrows nothing). Raises ``InvalidFilter``."""
    if filters is None:
        return None
    if not isinstance(filters, SearchFilters):
        raise InvalidFilter("filters must be a SearchFilters")
    clean = SearchFilters(
        collections=_string_list("collections", filters.collections),
        document_ids=_string_list("document_ids", filters.document_ids),
        mimes=_string_list("mimes", filters.mimes),
        metadata=_metadata(filters.metadata),
        tenant_id=filters.tenant_id if filters.tenant_id is None else str(filters.tenant_id),
        readable=None if filters.readable is None else [str(c) for c in filters.readable],
    )
    return None if clean.is_empty() else clean


def _value_condition(value: Any, params: list[Any]) -> str:
    if isinstance(value, bool):
        return "m.type = 'true'" if value else "m.type = 'false'"
    params.append(value)
    if isinstance(value, str):
        return "(m.type = 'text' AND m.value = ?)"
    return "(m.type IN ('integer', 'real') AND m.value = ?)"


def document_conditions(filters: SearchFilters, alias: str = "d") -> tuple[list[str], list[Any]]:
    """SQL conditions on the documents table (``alias``) for collections, mimes and metadata."""
    conditions: list[str] = []
    params: list[Any] = []
    if filters.tenant_id is not None:
        conditions.append(f"{alias}.tenant_id = ?")
        params.append(filters.tenant_id)
    if filters.readable is not None:
        if filters.readable:
            conditions.append(f"{alias}.collection IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(filters.readable))
        else:
            conditions.append("0")
    if filters.collections:
        conditions.append(f"{alias}.collection IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(filters.collections))
    if filters.mimes:
        conditions.append(f"{alias}.mime IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(filters.mimes))
    for key, values in (filters.metadata or {}).items():
        key_params: list[Any] = [key]
        alternatives = " OR ".join(_value_condition(v, key_params) for v in values)
        conditions.append(
            f"EXISTS (SELECT 1 FROM json_each({alias}.metadata) AS m WHERE m.key = ? AND ({alternatives}))"
        )
        params.extend(key_params)
    return conditions, params


def _document_ids(filters: SearchFilters, alias: str) -> tuple[list[str], list[Any]]:
    """The condition on the chunks table (``alias``) for ``filters.document_ids``, if any."""
    if not filters.document_ids:
        return [], []
    return [f"{alias}.document_id IN (SELECT value FROM json_each(?))"], [json.dumps(filters.document_ids)]


def chunk_conditions(filters: SearchFilters | None, alias: str = "c") -> tuple[str, list[Any]]:
    """``(sql, params)``: a condition on the chunks table (``alias``) or ``("", [])`` when nothing narrows.

    ``filters`` must already have gone through :func:`validate`. Document-level conditions become one
    uncorrelated ``IN (SELECT id FROM documents …)`` subquery, evaluated once per statement.
    """
    if filters is None:
        return "", []
    conditions, params = _document_ids(filters, alias)
    doc_conditions, doc_params = document_conditions(filters, "d")
    if doc_conditions:
        conditions.append(
            f"{alias}.document_id IN (SELECT d.id FROM documents AS d WHERE {' AND '.join(doc_conditions)})"
        )
        params.extend(doc_params)
    return " AND ".join(conditions), params


def joined_conditions(filters: SearchFilters | None, chunk: str = "c", doc: str = "d") -> tuple[str, str, list[Any]]:
    """``(join, condition, params)`` for a query that reaches chunks one by one (the lexical search: a few thousand
    matching rows): document-level conditions tested on each chunk's document through a join on its primary key,
    instead of :func:`chunk_conditions`' subquery, which lists every allowed document on every query (work that
    grows with the collection, not with the matches). ``join`` is ``""`` when no document condition applies."""
    if filters is None:
        return "", "", []
    conditions, params = _document_ids(filters, chunk)
    doc_conditions, doc_params = document_conditions(filters, doc)
    join = ""
    if doc_conditions:
        join = f"CROSS JOIN documents AS {doc} ON {doc}.id = {chunk}.document_id"
        conditions.extend(doc_conditions)
        params.extend(doc_params)
    return join, " AND ".join(conditions), params
