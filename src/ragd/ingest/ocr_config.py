"""The options of one OCR run, as the loaders take them (built from :class:`ragd.config.ocr.OcrSettings`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OcrConfig:
    enabled: bool = True
    languages: str = "fra+eng"
    timeout_s: float = 1800.0
    dpi: int = 300
    max_pixels: int = 40_000_000
    tesseract_cmd: str = "tesseract"
    tessdata_dir: str | None = None
