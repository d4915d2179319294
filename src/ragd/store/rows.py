"""The columns every engine selects for documents and chunks, and the rows turned into models: one definition for
SQLite and PostgreSQL (their tables have the same columns; only placeholders and ordering differ)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ragd.models import Chunk, DocStatus, Document

DOC_COLUMNS = (
    "id, collection, filename, content_hash, mime, size, status, error, error_code, failed_step, num_chunks, "
    "pages, title, metadata, replaces, created_at, updated_at, tenant_id, uploaded_by"
)
"""The document columns :func:`document_from_row` reads, in its order."""

CHUNK_SELECT = (
    'SELECT c.seq, c.id, c.document_id, d.collection, d.filename, c.ordinal, c.text, c.start, c."end", '
    "c.page_start, c.page_end, c.heading_path, c.content_hash, d.mime, d.metadata, d.tenant_id "
    "FROM chunks AS c JOIN documents AS d ON d.id = c.document_id"
)
"""A chunk with its document's fields, as :func:`chunk_from_row` reads it (add ``WHERE …``)."""


def document_from_row(row: Sequence[Any]) -> Document:
    return Document(
        id=row[0], collection=row[1], filename=row[2], content_hash=row[3], mime=row[4], size=row[5],
        status=DocStatus(row[6]), error=row[7], error_code=row[8], failed_step=row[9], num_chunks=row[10],
        pages=row[11], title=row[12], metadata=json.loads(row[13]), replaces=row[14], created_at=row[15],
        updated_at=row[16], tenant_id=row[17], uploaded_by=row[18],
    )


def chunk_from_row(row: Sequence[Any]) -> Chunk:
    return Chunk(
        seq=row[0], id=row[1], document_id=row[2], collection=row[3], filename=row[4], ordinal=row[5],
        text=row[6], start=row[7], end=row[8], page_start=row[9], page_end=row[10],
        heading_path=json.loads(row[11]), content_hash=row[12], mime=row[13], metadata=json.loads(row[14]),
        tenant_id=row[15],
    )
