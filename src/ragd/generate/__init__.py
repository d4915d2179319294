"""Generators: the :class:`~ragd.generate.base.Generator` port and its adapters, picked by name.

``GENERATORS`` maps ``settings.llm.backend`` to a factory ``(settings, embedder) -> Generator``. Factories import
their module lazily: the default install needs neither llama-cpp-python nor a model server.
"""

from __future__ import annotations

from collections.abc import Callable

from ragd.config import Settings
from ragd.embed.base import Embedder
from ragd.errors import ConfigurationError
from ragd.generate.base import NO_ANSWER, Answer, ChatMessage, Citation, Generator, GenEvent, Token


def _extractive(settings: Settings, embedder: Embedder) -> Generator:
    from ragd.generate.extractive import ExtractiveGenerator

    return ExtractiveGenerator(embedder, settings.answer)


def _llamacpp(settings: Settings, embedder: Embedder) -> Generator:
    from ragd.generate.llamacpp import LlamaCppGenerator

    return LlamaCppGenerator(settings.llm)


def _openai(settings: Settings, embedder: Embedder) -> Generator:
    from ragd.generate.openai import OpenAIGenerator

    return OpenAIGenerator(settings.llm)


GENERATORS: dict[str, Callable[[Settings, Embedder], Generator]] = {
    "extractive": _extractive,
    "llamacpp": _llamacpp,
    "openai": _openai,
}


def create_generator(settings: Settings, embedder: Embedder) -> Generator:
    """Build the generator named by ``settings.llm.backend`` (a :class:`ConfigurationError` if unknown)."""
    try:
        factory = GENERATORS[settings.llm.backend]
    except KeyError:
        known = ", ".join(sorted(GENERATORS))
        raise ConfigurationError(f"unknown LLM backend {settings.llm.backend!r}; known: {known}") from None
    return factory(settings, embedder)


__all__ = [
    "GENERATORS", "NO_ANSWER", "Answer", "ChatMessage", "Citation", "GenEvent", "Generator", "Token",
    "create_generator",
]
