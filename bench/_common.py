"""Helpers shared by the bench scripts: paths, timing statistics, result tables.

Imports only the standard library and ``ragd.evaluation`` (after putting ``src/`` on ``sys.path``), so a
script can run from a virtualenv that does not have ragd installed.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
EVALDATA = REPO_ROOT / ".." / "shared" / "evaldata"
DATASETS = ("adi", "medline", "cranfield", "cisi", "piaf-fr", "mini-wiki")

if str(REPO_ROOT / "src") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "src"))


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), ``q`` in [0, 100]; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / mean of per-query latencies, in milliseconds."""
    return {
        "p50_ms": percentile(seconds, 50) * 1000,
        "p95_ms": percentile(seconds, 95) * 1000,
        "mean_ms": (statistics.fmean(seconds) * 1000) if seconds else 0.0,
    }


TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ndcg@10", "nDCG@10", "{:.3f}"),
    ("recall@10", "R@10", "{:.3f}"),
    ("recall@100", "R@100", "{:.3f}"),
    ("mrr@10", "MRR@10", "{:.3f}"),
    ("map", "MAP", "{:.3f}"),
    ("answer_in_context@5", "AiC@5", "{:.3f}"),
    ("ingest_s", "ingest s", "{:.1f}"),
    ("p50_ms", "p50 ms", "{:.1f}"),
    ("p95_ms", "p95 ms", "{:.1f}"),
)


def markdown_table(results: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """One Markdown table, a row per (dataset, system); a missing value shows as an em dash."""
    header = "| set | system | " + " | ".join(title for _, title, _ in TABLE_COLUMNS) + " |"
    lines = [header, "|---|---|" + "---:|" * len(TABLE_COLUMNS)]
    for dataset, systems in results.items():
        for system, metrics in systems.items():
            cells = []
            for key, _, fmt in TABLE_COLUMNS:
                value = metrics.get(key)
                cells.append(fmt.format(value) if isinstance(value, int | float) else "—")
            lines.append(f"| {dataset} | {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
