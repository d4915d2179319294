"""The llamacpp generator for real: a tiny random-weight GGUF written by the `gguf` package, run by llama.cpp.
The text is gibberish; the plumbing (template from the file, tokenizer budget, streaming, citation check) is real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.generate.helpers import INJECTION, llm_settings, retrieval
from tests.generate.tiny_gguf import CHAT_TEMPLATE, write_tiny_llama

from ragd.errors import ConfigurationError
from ragd.generate.base import NO_ANSWER, Answer, ChatMessage, Token
from ragd.generate.llamacpp import LlamaCppGenerator


@pytest.fixture(scope="module")
def gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="module")
def gen(gguf_path: Path) -> Iterator[LlamaCppGenerator]:
    g = LlamaCppGenerator(llm_settings(backend="llamacpp", model_path=str(gguf_path), model="", context_size=1024,
                                       max_tokens=24, seed=1, temperature=0.0, threads=1))
    yield g
    g.close()


def test_loads_with_the_files_chat_template(gen: LlamaCppGenerator) -> None:
    assert gen.model == "tiny" and gen.context_size == 1024
    assert gen._llm.metadata["tokenizer.chat_template"] == CHAT_TEMPLATE
    assert gen._llm.chat_format == "chat_template.default"
    # the model's own tokenizer (here: characters and byte fallback), not the characters / 3.5 estimate
    assert gen.count_tokens("the refund") == len(gen._llm.tokenize(b"the refund", add_bos=False)) >= 3
    assert gen.count_tokens("é") >= 1


def test_streams_tokens_then_a_checked_answer(gen: LlamaCppGenerator) -> None:
    events = list(gen.stream("refund?", retrieval("Refunds are paid within 14 days.", INJECTION)))
    tokens = [e for e in events if isinstance(e, Token)]
    final = events[-1]
    assert isinstance(final, Answer) and tokens and all(isinstance(e, Token) for e in events[:-1])
    assert final.completion_tokens > 0 and final.prompt_tokens > 20
    if final.found:  # random weights: whatever it wrote, every marker left names a real source
        assert all(c.marker in (1, 2) for c in final.citations)
    else:
        assert final.text == NO_ANSWER and final.citations == []


def test_budget_counts_model_tokens(gen: LlamaCppGenerator) -> None:
    long = ["the refund " * 150 + f"passage {i}" for i in range(8)]
    events = gen.stream("refund?", retrieval(*long))
    first = next(events)  # the prompt was built and accepted by the 1,024-token context
    events.close()
    assert isinstance(first, Token | Answer)


def test_closing_the_stream_frees_the_model(gen: LlamaCppGenerator) -> None:
    events = gen.stream("refund?", retrieval("Refunds are paid within 14 days."))
    next(events)
    events.close()
    assert gen._lock.acquire(timeout=2)  # generation stopped and released the context
    gen._lock.release()


def test_standalone_query(gen: LlamaCppGenerator) -> None:
    msgs = [ChatMessage("user", "refund delay?"), ChatMessage("assistant", "14 days [1]."), ChatMessage("user", "why?")]
    q = gen.standalone_query(msgs)
    assert isinstance(q, str) and q  # gibberish or the message itself, never empty


def test_missing_model_file() -> None:
    with pytest.raises(ConfigurationError, match="MODEL_PATH"):
        LlamaCppGenerator(llm_settings(backend="llamacpp", model_path=""))
    with pytest.raises(ConfigurationError, match="no such file"):
        LlamaCppGenerator(llm_settings(backend="llamacpp", model_path="/nonexistent/x.gguf"))
