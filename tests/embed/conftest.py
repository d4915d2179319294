from __future__ import annotations

from pathlib import Path

import pytest

from ragd.config import EmbeddingSettings
from ragd.embed.onnx import OnnxEmbedder, resolve_model_dir

EVALDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "evaldata"


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return resolve_model_dir(EmbeddingSettings())


@pytest.fixture(scope="session")
def embedder() -> OnnxEmbedder:
    """One real embedder for the whole session (small batches so that batching and padding are exercised)."""
    return OnnxEmbedder(EmbeddingSettings(batch_size=4))
