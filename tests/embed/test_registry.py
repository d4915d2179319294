from __future__ import annotations

import pytest

from ragd.config import EmbeddingSettings
from ragd.embed import EMBEDDERS, create_embedder
from ragd.embed.base import Embedder
from ragd.errors import ConfigurationError


def test_onnx_is_the_default_backend() -> None:
    assert "onnx" in EMBEDDERS
    assert EmbeddingSettings().backend == "onnx"
    emb = create_embedder(EmbeddingSettings(threads=1))
    assert isinstance(emb, Embedder)
    assert emb.embed(["hello"]).shape == (1, 384)


def test_unknown_backend_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"known backends: .*onnx"):
        create_embedder(EmbeddingSettings(backend="nope"))
