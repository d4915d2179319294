"""Image loader (PNG, JPEG, TIFF with every frame): OCR, one page per image frame.

Every frame's size is read from its header and checked against ``ocr.max_pixels`` before any pixel is decoded (an
OCR bomb: ``image_too_large``); Pillow's own decompression-bomb limit is a second guard.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ragd.errors import DocumentCorrupt, DocumentEmpty, ImageTooLarge, NoTextFound, TooManyPages
from ragd.ingest.ocr import OcrRun, check_pixels, to_png
from ragd.ingest.ocr_config import OcrConfig
from ragd.models import ParsedDocument

from ._build import DocBuilder

PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
IMAGE_TYPES = (PNG, JPEG, TIFF)
_DEFAULT_DPI = 300


def _open(data: bytes) -> Any:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow is a core dependency
        from ragd.errors import OcrUnavailable

        raise OcrUnavailable("Pillow is not installed: pip install Pillow") from exc
    if not data.strip():
        raise DocumentEmpty("the image file is empty" + ("" if data else " (0 bytes)"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError as exc:  # Pillow's own guard, past 2 × Image.MAX_IMAGE_PIXELS
        raise ImageTooLarge(
            f"the image announces more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} MP in its "
            "header; OCR reads at most RAGD_OCR__MAX_PIXELS"
        ) from exc
    except Exception as exc:
        raise DocumentCorrupt(f"the image could not be read: {exc}") from exc


def count_image_frames(data: bytes) -> int:
    """Frames of the image (pages of a TIFF), from the headers only."""
    image = _open(data)
    try:
        return int(getattr(image, "n_frames", 1))
    finally:
        image.close()


def _frames(image: Any, config: OcrConfig) -> Iterator[tuple[Any, int]]:
    """Each frame decoded, after its header size passed the pixel limit, with its resolution in dpi."""
    for index in range(int(getattr(image, "n_frames", 1))):
        image.seek(index)
        width, height = image.size
        check_pixels(width, height, config, f"image frame {index + 1}" if index else "the image")
        dpi = image.info.get("dpi", (_DEFAULT_DPI, _DEFAULT_DPI))[0]
        try:
            dpi = round(float(dpi))
        except (TypeError, ValueError):
            dpi = _DEFAULT_DPI
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
            frame = image.copy()
        yield frame, dpi if 70 <= dpi <= 1200 else _DEFAULT_DPI


def load_image(
    data: bytes,
    filename: str,
    *,
    mime: str = PNG,
    ocr: OcrConfig | None = None,
    max_pages: int | None = None,
    on_ocr: Callable[[], None] | None = None,
) -> ParsedDocument:
    """OCR'd text of every frame, one page each (``OcrUnavailable`` when OCR is off or not installed)."""
    run = OcrRun(ocr or OcrConfig(enabled=False), on_start=on_ocr)
    image = _open(data)
    try:
        n_frames = int(getattr(image, "n_frames", 1))
        if max_pages is not None and n_frames > max_pages:
            raise TooManyPages(f"the image has {n_frames} frames (pages); the limit is {max_pages}")
        run.require()
        builder = DocBuilder(mime)
        try:
            for page_no, (frame, dpi) in enumerate(_frames(image, run.config), start=1):
                for para in run.page(to_png(frame), page_no, dpi):
                    builder.add("paragraph", para, page=page_no)
        except (OSError, ValueError, SyntaxError) as exc:
            raise DocumentCorrupt(f"the image could not be decoded: {exc}") from exc
    finally:
        image.close()
    if not builder.blocks:
        raise NoTextFound(f"OCR found no text in the image ({n_frames} frame(s))")
    return builder.build(pages=n_frames, metadata={"ocr": run.metadata()})
