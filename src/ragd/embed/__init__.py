"""Embedders: the :class:`~ragd.embed.base.Embedder` port and its adapters, picked by name from a registry.

``EMBEDDERS`` maps ``settings.embedding.backend`` to a factory. Factories import their adapter module
lazily, so importing :mod:`ragd.embed` loads neither ONNX Runtime nor any weights.
"""

from __future__ import annotations

from collections.abc import Callable

from ragd.config import EmbeddingSettings
from ragd.embed.base import Embedder, TokenCounter, model_fingerprint, model_languages
from ragd.errors import ConfigurationError


def _onnx(settings: EmbeddingSettings) -> Embedder:
    from ragd.embed.onnx import OnnxEmbedder

    return OnnxEmbedder(settings)


EMBEDDERS: dict[str, Callable[[EmbeddingSettings], Embedder]] = {
    "onnx": _onnx,
}


def create_embedder(settings: EmbeddingSettings) -> Embedder:
    """Build the embedder named by ``settings.backend`` (a :class:`ConfigurationError` if unknown)."""
    try:
        factory = EMBEDDERS[settings.backend]
    except KeyError:
        known = ", ".join(sorted(EMBEDDERS))
        raise ConfigurationError(
            f"Unknown embedding backend {settings.backend!r}; known backends: {known}."
        ) from None
    return factory(settings)


__all__ = ["EMBEDDERS", "Embedder", "TokenCounter", "create_embedder", "model_fingerprint", "model_languages"]
