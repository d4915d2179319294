"""The ``llamacpp`` generator: a GGUF model run in-process by llama-cpp-python (``pip install 'ragd[llamacpp]'``).

The chat template comes from the GGUF file itself (``tokenizer.chat_template``), applied by llama-cpp-python's
``create_chat_completion``; the prompt budget is counted with the model's own tokenizer. One llama.cpp context
serves one generation at a time (a lock), so concurrent questions queue.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragd.config import LLMSettings
from ragd.errors import ConfigurationError, LLMBadResponse
from ragd.generate.llm import LLMGenerator, Usage


class LlamaCppGenerator(LLMGenerator):
    name = "llamacpp"

    def __init__(self, settings: LLMSettings) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ConfigurationError(
                "RAGD_LLM__BACKEND=llamacpp needs llama-cpp-python: pip install 'ragd[llamacpp]'"
            ) from exc
        if not settings.model_path:
            raise ConfigurationError("RAGD_LLM__BACKEND=llamacpp needs RAGD_LLM__MODEL_PATH (a .gguf file)")
        path = Path(settings.model_path).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"RAGD_LLM__MODEL_PATH: no such file {str(path)!r}")
        super().__init__(settings, settings.model or path.stem)
        kwargs: dict[str, Any] = {
            "model_path": str(path), "n_ctx": settings.context_size, "n_gpu_layers": settings.gpu_layers,
            "verbose": False,
        }
        if settings.threads:
            kwargs["n_threads"] = settings.threads
        if settings.seed is not None:
            kwargs["seed"] = settings.seed
        try:
            self._llm = llama_cpp.Llama(**kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ConfigurationError(f"llama.cpp could not load {str(path)!r}: {exc}") from exc
        self._lock = threading.Lock()

    @property
    def context_size(self) -> int:
        return int(self._llm.n_ctx())

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def close(self) -> None:
        close = getattr(self._llm, "close", None)
        if close is not None:
            close()

    def _options(self, max_tokens: int) -> dict[str, Any]:
        s = self.settings
        opts: dict[str, Any] = {"max_tokens": max_tokens, "temperature": s.temperature}
        if s.seed is not None:
            opts["seed"] = s.seed
        return opts

    def _complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        with self._lock:
            try:
                out = self._llm.create_chat_completion(messages=messages, **self._options(max_tokens))
            except (ValueError, RuntimeError) as exc:
                raise LLMBadResponse(f"the local model failed: {exc}") from exc
        return str(out["choices"][0]["message"].get("content") or "")  # type: ignore[index]

    def _deltas(self, messages: list[dict[str, str]], usage: Usage) -> Iterator[str]:
        with self._lock:  # held while streaming: the context is busy until this generator is closed
            try:
                chunks = self._llm.create_chat_completion(
                    messages=messages, stream=True, **self._options(self.settings.max_tokens)
                )
                usage.prompt_tokens = sum(self.count_tokens(m["content"]) for m in messages)
                n = 0
                try:
                    for chunk in chunks:  # type: ignore[union-attr]
                        content = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
                        if content:
                            n += 1
                            yield content
                finally:
                    chunks.close()  # type: ignore[union-attr]
                usage.completion_tokens = n
            except (ValueError, RuntimeError) as exc:
                raise LLMBadResponse(f"the local model failed: {exc}") from exc
