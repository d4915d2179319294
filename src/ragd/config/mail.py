"""The ``mail`` settings section: how e-mail attachments become child documents (:mod:`ragd.ingest.attachments`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_depth: int = Field(
        3, ge=0, le=20, description="How many messages deep an attachment may lie (a mail attached to a mail is "
        "depth 2); deeper ones are skipped with code nesting_too_deep, 0 indexes no attachment at all."
    )
    max_attachments: int = Field(
        50, ge=0, description="Most attachments indexed per message; the others are skipped (too_many_attachments)."
    )
    max_documents: int = Field(
        500, ge=0, description="Most documents one upload may fan out to, its attachments at every depth together; "
        "the ones over it are skipped (too_many_attachments)."
    )
    max_attachments_mb: float = Field(
        100.0, gt=0, description="Largest total decoded size of one message's attachments, in MiB; the ones over it "
        "are skipped (attachments_too_large)."
    )
