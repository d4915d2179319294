"""OCR with Tesseract: one page image → paragraphs and word boxes (docs/formats.md, "OCR").

Tesseract is run as a program (``tesseract stdin stdout … tsv``) rather than through pytesseract: the same
subprocess call pytesseract makes, minus a dependency, with the per-document time limit enforced by killing the
process (``subprocess.run(timeout=…)``) and ``OMP_THREAD_LIMIT=1`` set for it (Tesseract 5's OpenMP threads make a
page several times slower on a busy 2-core machine; bench/ocr.py measures it). The TSV output gives every word its
box, kept as fractions of the page (top-left origin), the coordinates the page viewer draws.
"""

from __future__ import annotations

import functools
import io
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ragd.config.ocr import tesseract_env
from ragd.errors import ImageTooLarge, OcrTimeout, OcrUnavailable
from ragd.ingest.ocr_config import OcrConfig

# Debian packages of Tesseract's language data: tesseract-ocr-<code> (fra, eng, deu…).
_INSTALL = "apt-get install tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng"
_MIN_WORD_CONF = 0.0  # Tesseract marks non-word boxes with -1
# Below this mean word confidence (0-100) a page may be turned (a scan fed sideways): Tesseract's orientation
# detection (OSD, `--psm 0`) is asked, and the page read again turned upright. Upright text reads at 85-96, a
# sideways page at about 50.
_DOUBTFUL_CONF = 70.0


@dataclass(slots=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    conf: float = 100.0


@dataclass(slots=True)
class OcrPage:
    """One OCR'd page: its paragraphs (lines joined by newlines) and every word with its box."""

    paragraphs: list[str]
    words: list[Word]
    seconds: float


@dataclass(slots=True)
class OcrRun:
    """OCR of one document: the options, its deadline, and what was read (pages, word boxes, time)."""

    config: OcrConfig
    deadline: float = 0.0
    pages: list[int] = field(default_factory=list)
    boxes: dict[int, list[list[Any]]] = field(default_factory=dict)
    seconds: float = 0.0
    on_start: Callable[[], None] | None = None  # called once, when the first page is about to be OCR'd

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.config.timeout_s

    def require(self) -> None:
        """Raise ``OcrUnavailable`` unless OCR is on, Tesseract runs and has every configured language."""
        if not self.config.enabled:
            raise OcrUnavailable("OCR is off (RAGD_OCR__ENABLED=false): this image has no text layer to read")
        check_tesseract(self.config)
        if self.on_start is not None:
            started, self.on_start = self.on_start, None
            started()

    def page(self, png: bytes, page_no: int, dpi: int) -> list[str]:
        """OCR one page image (PNG bytes); records its word boxes under ``page_no``; returns its paragraphs."""
        result = read_page(png, self.config, dpi=dpi, deadline=self.deadline)
        self.pages.append(page_no)
        self.seconds += result.seconds
        self.boxes[page_no] = [[w.text, w.x0, w.y0, w.x1, w.y1] for w in result.words]
        return result.paragraphs

    def metadata(self) -> dict[str, Any]:
        return {
            "engine": "tesseract",
            "languages": self.config.languages,
            "pages": list(self.pages),
            "seconds": round(self.seconds, 2),
            "boxes": self.boxes,
        }


def _env(config: OcrConfig) -> dict[str, str]:
    return tesseract_env(config.tessdata_dir)


@functools.lru_cache(maxsize=16)
def _languages(cmd: str, tessdata: str | None) -> frozenset[str]:
    env = tesseract_env(tessdata)
    try:
        out = subprocess.run([cmd, "--list-langs"], capture_output=True, env=env, timeout=30, check=False)
    except (FileNotFoundError, PermissionError) as exc:
        raise OcrUnavailable(
            f"the OCR program {cmd!r} is not installed ({exc.strerror}); install it with: {_INSTALL}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise OcrUnavailable(f"{cmd} --list-langs did not answer in 30 s") from exc
    lines = (out.stdout or out.stderr).decode(errors="replace").splitlines()
    return frozenset(x.strip() for x in lines[1:] if x.strip() and " " not in x.strip())


def check_tesseract(config: OcrConfig) -> None:
    """``OcrUnavailable`` naming the packages to install when Tesseract or one of the languages is missing."""
    have = _languages(config.tesseract_cmd, config.tessdata_dir)
    missing = [lang for lang in config.languages.split("+") if lang not in have]
    if missing:
        _languages.cache_clear()  # the packages may be installed by the next document: look again then
        where = f" in {config.tessdata_dir}" if config.tessdata_dir else ""
        packages = " ".join(f"tesseract-ocr-{m.lower().replace('_', '-')}" for m in missing)
        raise OcrUnavailable(
            f"Tesseract has no data{where} for the OCR language(s) {', '.join(missing)} "
            f"(RAGD_OCR__LANGUAGES={config.languages}); install: apt-get install {packages}"
        )


def check_pixels(width: int, height: int, config: OcrConfig, what: str) -> None:
    if width * height > config.max_pixels:
        raise ImageTooLarge(
            f"{what} is {width}×{height} pixels ({width * height / 1e6:.0f} MP); OCR reads at most "
            f"{config.max_pixels / 1e6:g} MP (RAGD_OCR__MAX_PIXELS)"
        )


def run_tesseract(png: bytes, config: OcrConfig, *, dpi: int, deadline: float) -> OcrPage:
    """Words and paragraphs of one page image; ``OcrTimeout`` when ``deadline`` (monotonic) passes."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise OcrTimeout(f"OCR of this document took longer than {config.timeout_s:g} s (RAGD_OCR__TIMEOUT_S)")
    cmd = [config.tesseract_cmd, "stdin", "stdout", "-l", config.languages, "--dpi", str(dpi), "tsv"]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, input=png, capture_output=True, env=_env(config), timeout=left, check=False)
    except subprocess.TimeoutExpired as exc:
        raise OcrTimeout(f"OCR of this document took longer than {config.timeout_s:g} s (RAGD_OCR__TIMEOUT_S)") from exc
    except (FileNotFoundError, PermissionError) as exc:
        raise OcrUnavailable(
            f"the OCR program {config.tesseract_cmd!r} is not installed; install it with: {_INSTALL}"
        ) from exc
    if out.returncode != 0:
        message = out.stderr.decode(errors="replace").strip().splitlines()
        raise OcrUnavailable(f"Tesseract failed (exit {out.returncode}): {' '.join(message[-3:])[:300]}")
    paragraphs, words = parse_tsv(out.stdout.decode("utf-8", errors="replace"))
    return OcrPage(paragraphs, words, time.perf_counter() - t0)


def read_page(png: bytes, config: OcrConfig, *, dpi: int, deadline: float) -> OcrPage:
    """:func:`run_tesseract`, and when the words are doubtful (a page scanned sideways or upside down), again on the
    page turned as Tesseract's orientation detection says, keeping the better reading; boxes stay on the page as
    given."""
    page = run_tesseract(png, config, dpi=dpi, deadline=deadline)
    if not page.words or statistics.fmean(w.conf for w in page.words) >= _DOUBTFUL_CONF:
        return page
    turn = _orientation(png, config, dpi=dpi, deadline=deadline)
    if not turn:
        return page
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        upright = to_png(image.rotate(-turn, expand=True))  # Pillow turns counter-clockwise; OSD says clockwise
    again = run_tesseract(upright, config, dpi=dpi, deadline=deadline)
    if not again.words or statistics.fmean(w.conf for w in again.words) <= statistics.fmean(w.conf for w in page.words):
        return page
    again.words = [_turn_back(w, turn) for w in again.words]
    again.seconds += page.seconds
    return again


def _orientation(png: bytes, config: OcrConfig, *, dpi: int, deadline: float) -> int:
    """Degrees (clockwise: 0, 90, 180, 270) the page must be turned to be upright; 0 when OSD cannot tell."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise OcrTimeout(f"OCR of this document took longer than {config.timeout_s:g} s (RAGD_OCR__TIMEOUT_S)")
    cmd = [config.tesseract_cmd, "stdin", "stdout", "--psm", "0", "--dpi", str(dpi)]
    try:
        out = subprocess.run(cmd, input=png, capture_output=True, env=_env(config), timeout=left, check=False)
    except subprocess.TimeoutExpired as exc:
        raise OcrTimeout(f"OCR of this document took longer than {config.timeout_s:g} s (RAGD_OCR__TIMEOUT_S)") from exc
    for line in out.stdout.decode(errors="replace").splitlines():
        if line.startswith("Rotate:"):
            value = int(line.split(":", 1)[1].strip() or 0)
            return value if value in (90, 180, 270) else 0
    return 0  # too few characters, or no osd.traineddata


def _turn_back(w: Word, turn: int) -> Word:
    """A word box read on the page turned ``turn`` degrees clockwise, as fractions of the page as given."""

    def back(u: float, v: float) -> tuple[float, float]:
        if turn == 90:
            return v, 1 - u
        if turn == 180:
            return 1 - u, 1 - v
        return 1 - v, u  # 270

    (a, b), (c, d) = back(w.x0, w.y0), back(w.x1, w.y1)
    return Word(w.text, round(min(a, c), 5), round(min(b, d), 5), round(max(a, c), 5), round(max(b, d), 5), w.conf)


def parse_tsv(tsv: str) -> tuple[list[str], list[Word]]:
    """Tesseract's TSV → paragraphs (lines joined by newlines) and words with boxes as fractions of the page."""
    width = height = 0
    lines: dict[tuple[int, int, int], list[str]] = {}
    words: list[Word] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12:
            continue
        level, block, par, line = int(cols[0]), int(cols[2]), int(cols[3]), int(cols[4])
        left, top, w, h = int(cols[6]), int(cols[7]), int(cols[8]), int(cols[9])
        if level == 1:
            width, height = max(w, 1), max(h, 1)
            continue
        text = cols[11].strip()
        if level != 5 or not text or float(cols[10]) < _MIN_WORD_CONF:
            continue
        lines.setdefault((block, par, line), []).append(text)
        words.append(
            Word(
                text,
                round(left / width, 5),
                round(top / height, 5),
                round((left + w) / width, 5),
                round((top + h) / height, 5),
                float(cols[10]),
            )
        )
    paras: dict[tuple[int, int], list[str]] = {}
    for (block, par, _line), texts in lines.items():
        paras.setdefault((block, par), []).append(" ".join(texts))
    return ["\n".join(p) for p in paras.values()], words


def to_png(image: Any) -> bytes:
    """A Pillow image as PNG bytes Tesseract reads (grey or RGB, no alpha, no palette)."""
    if image.mode not in ("1", "L", "RGB"):
        image = image.convert("RGBA" if "A" in image.mode or image.mode == "P" else "RGB")
        if image.mode == "RGBA":
            from PIL import Image

            white = Image.new("RGB", image.size, (255, 255, 255))
            white.paste(image, mask=image.getchannel("A"))
            image = white
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
