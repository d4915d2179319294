"""OCR engines on pages whose true text is known: character error rate and seconds per page, French and English.

Pages: passages of ../shared/evaldata/piaf-fr/corpus.jsonl (French) and ../shared/evaldata/cranfield/corpus.jsonl
(English) drawn with Pillow on A4 pages at 300 dpi (DejaVu Sans 10 pt, Debian's fonts-dejavu-core), then made to
look scanned (a slight rotation, blur and speckles, fixed seed); plus the real scan
fixtures/pdf-scanned/ocr_test.pdf against fixtures/groundtruth/ocr_test.tesseract.md.

CER = Levenshtein distance / length of the truth, both with whitespace collapsed to one space.

Engines: Tesseract as ragd runs it (src/ragd/ingest/ocr.py: fra+eng, OMP_THREAD_LIMIT=1), Tesseract with its default
OpenMP threading, and RapidOCR (`rapidocr_onnxruntime`, PP-OCRv4 ONNX models inside the wheel, no download) when it
is installed. Run (docs/benchmarks.md, "OCR"):

    python -m venv /tmp/ocrbench && /tmp/ocrbench/bin/pip install Pillow pypdfium2 rapidocr_onnxruntime
    PYTHONPATH=src nice -n 19 /tmp/ocrbench/bin/python bench/ocr.py --pages 4
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ragd.ingest.ocr import run_tesseract
from ragd.ingest.ocr_config import OcrConfig

ROOT = Path(__file__).resolve().parent.parent
EVALDATA = ROOT.parent / "shared" / "evaldata"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DPI = 300
A4 = (2480, 3508)
OUT = ROOT / "bench" / "results" / "ocr.json"


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(hyp: str, truth: str) -> float:
    h, t = " ".join(hyp.split()), " ".join(truth.split())
    return levenshtein(h, t) / max(len(t), 1)


def passages(path: Path, n: int, min_chars: int = 900) -> list[str]:
    out: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            text = " ".join(json.loads(line)["text"].split())
            if len(text) >= min_chars:
                out.append(text[:1800].rsplit(" ", 1)[0])
                if len(out) == n:
                    break
    return out


def draw_page(text: str, rng: random.Random) -> Image.Image:
    """``text`` on an A4 page at 300 dpi, 10 pt, 2.5 cm margins, then 'scanned': rotated, blurred, speckled."""
    font = ImageFont.truetype(FONT, 42)
    page = Image.new("L", A4, 255)
    draw = ImageDraw.Draw(page)
    y = 300
    for line in textwrap.wrap(text, width=78):
        draw.text((300, y), line, font=font, fill=0)
        y += 62
    page = page.rotate(rng.uniform(-0.8, 0.8), resample=Image.Resampling.BICUBIC, fillcolor=255)
    page = page.filter(ImageFilter.GaussianBlur(0.7))
    px = page.load()
    for _ in range(6000):
        x, yy = rng.randrange(A4[0]), rng.randrange(A4[1])
        px[x, yy] = rng.choice((0, 90, 255))
    return page


def fixture_page() -> tuple[Image.Image, str]:
    pdf = pdfium.PdfDocument((EVALDATA / "fixtures/pdf-scanned/ocr_test.pdf").read_bytes())
    image = pdf[0].render(scale=DPI / 72, grayscale=True).to_pil()
    truth = (EVALDATA / "fixtures/groundtruth/ocr_test.tesseract.md").read_text(encoding="utf-8")
    return image, truth


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def tesseract(threads: str | None) -> Callable[[Image.Image], str]:
    config = OcrConfig(timeout_s=600)

    def run(image: Image.Image) -> str:
        if threads is None:  # ragd's call: OMP_THREAD_LIMIT=1
            page = run_tesseract(png(image), config, dpi=DPI, deadline=time.monotonic() + 600)
            return "\n".join(page.paragraphs)
        env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
        out = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", "fra+eng", "--dpi", str(DPI)],
            input=png(image),
            capture_output=True,
            env=env,
            check=True,
        )
        return out.stdout.decode()

    return run


def rapidocr() -> Callable[[Image.Image], str] | None:
    try:
        import numpy as np
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None
    engine = RapidOCR()

    def run(image: Image.Image) -> str:
        result, _ = engine(np.asarray(image.convert("RGB")))
        return "\n".join(r[1] for r in result or [])

    return run


def tesseract_version() -> str:
    out = subprocess.run(["tesseract", "--version"], capture_output=True, check=False)
    return (out.stdout or out.stderr).decode().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=4, help="drawn pages per language")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = random.Random(18)
    sets: dict[str, list[tuple[Image.Image, str]]] = {
        "fr": [(draw_page(t, rng), t) for t in passages(EVALDATA / "piaf-fr/corpus.jsonl", args.pages)],
        "en": [(draw_page(t, rng), t) for t in passages(EVALDATA / "cranfield/corpus.jsonl", args.pages)],
        "fixture ocr_test.pdf": [fixture_page()],
    }
    engines: dict[str, Callable[[Image.Image], str] | None] = {
        "tesseract fra+eng, OMP_THREAD_LIMIT=1 (ragd)": tesseract(None),
        "tesseract fra+eng, default threads": tesseract("default"),
        "rapidocr_onnxruntime (PP-OCRv4)": rapidocr(),
    }
    results: dict[str, Any] = {}
    for name, engine in engines.items():
        if engine is None:
            results[name] = {"skipped": "not installed (pip install rapidocr_onnxruntime)"}
            print(f"{name}: not installed")
            continue
        engine(sets["fixture ocr_test.pdf"][0][0])  # warm-up: model loading is not per page
        results[name] = {}
        for set_name, pages in sets.items():
            cers, secs = [], []
            for image, truth in pages:
                t0 = time.perf_counter()
                text = engine(image)
                secs.append(time.perf_counter() - t0)
                cers.append(cer(text, truth))
            row = {
                "pages": len(pages),
                "cer": round(statistics.mean(cers), 4),
                "cer_max": round(max(cers), 4),
                "s_per_page": round(statistics.mean(secs), 2),
            }
            results[name][set_name] = row
            print(
                f"{name:48s} {set_name:22s} CER {row['cer']:.3f} (max {row['cer_max']:.3f})  "
                f"{row['s_per_page']:.2f} s/page",
                flush=True,
            )
    report = {
        "command": "PYTHONPATH=src nice -n 19 /tmp/ocrbench/bin/python bench/ocr.py --pages " + str(args.pages),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared with other jobs (load average "
        f"{os.getloadavg()[0]:.1f} at the end)",
        "tesseract": tesseract_version(),
        "page": "A4, 300 dpi, DejaVu Sans 10 pt, rotated ±0.8°, Gaussian blur 0.7 px, 6000 speckles",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
