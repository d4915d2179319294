"""The columns every engine selects for documents, chunks and jobs, and the rows turned into models: one definition
for SQLite and PostgreSQL (their tables have the same columns; only placeholders and ordering differ)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ragd.errors import ValidationFailed
from ragd.models import JOB_QUEUES, JOB_STATUSES, Chunk, DocStatus, Document, Job

DOC_COLUMNS = (
    "id, collection, filename, content_hash, mime, size, status, error, error_code, failed_step, num_chunks, "
    "pages, title, metadata, replaces, created_at, updated_at, tenant_id, uploaded_by, parent_id"
)
"""The document columns :func:`document_from_row` reads, in its order."""

CHUNK_SELECT = (
    'SELECT c.seq, c.id, c.document_id, d.collection, d.filename, c.ordinal, c.text, c.start, c."end", '
    "c.page_start, c.page_end, c.heading_path, c.content_hash, d.mime, d.metadata, d.tenant_id "
    "FROM chunks AS c JOIN documents AS d ON d.id = c.document_id"
)
"""A chunk with its document's fields, as :func:`chunk_from_row` reads it (add ``WHERE …``)."""

JOB_COLUMNS = "id, document_id, kind, status, attempts, error, queue, not_before, published_at"
"""The job columns :func:`job_from_row` reads, in its order."""


def document_from_row(row: Sequence[Any]) -> Document:
    return Document(
        id=row[0], collection=row[1], filename=row[2], content_hash=row[3], mime=row[4], size=row[5],
        status=DocStatus(row[6]), error=row[7], error_code=row[8], failed_step=row[9], num_chunks=row[10],
        pages=row[11], title=row[12], metadata=json.loads(row[13]), replaces=row[14], created_at=row[15],
        updated_at=row[16], tenant_id=row[17], uploaded_by=row[18], parent_id=row[19],
    )


def chunk_from_row(row: Sequence[Any]) -> Chunk:
    return Chunk(
        seq=row[0], id=row[1], document_id=row[2], collection=row[3], filename=row[4], ordinal=row[5],
        text=row[6], start=row[7], end=row[8], page_start=row[9], page_end=row[10],
        heading_path=json.loads(row[11]), content_hash=row[12], mime=row[13], metadata=json.loads(row[14]),
        tenant_id=row[15],
    )


def job_from_row(row: Sequence[Any]) -> Job:
    return Job(
        id=int(row[0]), document_id=row[1], kind=row[2], status=row[3], attempts=row[4], error=row[5],
        queue=row[6], not_before=row[7], published_at=row[8],
    )


def jobs_by_id(rows: Sequence[Sequence[Any]]) -> list[Job]:
    """Rows (in any order, as ``UPDATE … RETURNING`` gives them) as jobs in id order."""
    return sorted((job_from_row(r) for r in rows), key=lambda j: j.id)


def check_queue(queue: str) -> None:
    """``ValidationFailed`` unless ``queue`` is one of :data:`ragd.models.JOB_QUEUES`."""
    if queue not in JOB_QUEUES:
        raise ValidationFailed(f"unknown job queue {queue!r} (expected one of {', '.join(JOB_QUEUES)})")


def count_table(rows: Sequence[Sequence[Any]]) -> dict[str, dict[str, int]]:
    """``(queue, status, count)`` rows as ``{queue: {status: count}}``, every queue and status present."""
    counts = {queue: dict.fromkeys(JOB_STATUSES, 0) for queue in JOB_QUEUES}
    for queue, status, n in rows:
        counts.setdefault(queue, dict.fromkeys(JOB_STATUSES, 0))[status] = int(n)
    return counts
