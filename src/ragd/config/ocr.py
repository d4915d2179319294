"""OCR settings (``RAGD_OCR__*``): scanned PDF pages and images read by Tesseract (docs/formats.md, "OCR")."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ragd.ingest.ocr_config import OcrConfig


class OcrSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True,
        description="OCR PDF pages without a readable text layer and images (PNG, JPEG, TIFF). Off: a scan "
        "fails with no_text_found and an image with ocr_unavailable.",
    )
    languages: str = Field(
        "fra+eng",
        pattern=r"^[A-Za-z_]+(\+[A-Za-z_]+)*$",
        description="Tesseract languages, joined by '+' (Debian package tesseract-ocr-LANG each).",
    )
    timeout_s: float = Field(
        1800.0,
        gt=0,
        le=86_400,
        description="Most seconds of OCR per document (2 s a page on 2 cores, 17 s when they are overloaded); the "
        "document fails with ocr_timeout above.",
    )
    dpi: int = Field(300, ge=100, le=600, description="Resolution at which a PDF page is rendered for OCR.")
    max_pixels: int = Field(
        40_000_000,
        ge=1_000_000,
        le=500_000_000,
        description="Largest image (or image frame) OCR'd, in pixels, "
        "checked from its header before any pixel is decoded (image_too_large above). A PDF page larger than this "
        "at ocr.dpi is rendered at a lower resolution, down to 100 dpi, else refused the same way.",
    )
    tesseract_cmd: str = Field("tesseract", description="The Tesseract program (a name on PATH or a path).")
    tessdata_dir: Path | None = Field(
        None, description="Directory of Tesseract's language data (TESSDATA_PREFIX); unset: Tesseract's own."
    )

    def config(self) -> OcrConfig:
        """The plain options the loaders take."""
        return OcrConfig(
            enabled=self.enabled,
            languages=self.languages,
            timeout_s=self.timeout_s,
            dpi=self.dpi,
            max_pixels=self.max_pixels,
            tesseract_cmd=self.tesseract_cmd,
            tessdata_dir=str(self.tessdata_dir) if self.tessdata_dir else None,
        )


def tesseract_env(tessdata_dir: str | None) -> dict[str, str]:
    """The environment a Tesseract process runs with: ragd's own, one OpenMP thread (2.8 s/page against 10.2 s/page
    with Tesseract's default threading, French pages on the 2-core test machine under load: bench/ocr.py) and,
    when given, the folder of its language data."""
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"
    if tessdata_dir:
        env["TESSDATA_PREFIX"] = tessdata_dir
    return env
