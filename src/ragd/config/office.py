"""Settings of the office, OpenDocument and e-book loaders (``RAGD_OFFICE__*``): how much of a spreadsheet is
read and how deep a document's XML may nest."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OfficeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_sheet_cells: int = Field(
        200_000,
        ge=1,
        le=10_000_000,
        description="Most non-empty cells read from one spreadsheet (XLSX, ODS, all sheets together) or from the "
        "tables of one ODT or ODP (and 20 times as many cells scanned, empty ones included); rows past the "
        "limit are dropped and a note says so in the text.",
    )
    max_xml_depth: int = Field(
        100,
        ge=16,
        le=250,
        description="Deepest XML element nesting accepted in a DOCX, PPTX, XLSX, ODT, ODS, ODP or EPUB "
        "file (the document fails with document_too_deep above).",
    )
