"""A tiny random GGUF served by `ragd serve` with RAGD_LLM__BACKEND=llamacpp: tokens stream end to end."""

from __future__ import annotations

import pytest
from tests.api.conftest import sse_events, upload_docs
from tests.generate.tiny_gguf import write_tiny_llama
from tests.support import Server


def test_llamacpp_streams_through_the_api(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("llamacpp")
    model = write_tiny_llama(base / "tiny.gguf")
    env = {"RAGD_LLM__BACKEND": "llamacpp", "RAGD_LLM__MODEL_PATH": str(model), "RAGD_LLM__CONTEXT_SIZE": "1024",
           "RAGD_LLM__MAX_TOKENS": "16", "RAGD_LLM__THREADS": "1", "RAGD_LLM__SEED": "3"}
    server = Server(base / "data", env).start()
    try:
        with server.client() as c:
            upload_docs(server, c)
            with c.stream("POST", "/api/v1/query", json={"query": "How long do refunds take?", "stream": True}) as r:
                assert r.status_code == 200
                events = list(sse_events(r.iter_lines()))
            names = [e for e, _ in events]
            assert names.count("token") >= 1 and names[-2:] == ["citations", "done"], names
            done = events[-1][1]
            assert done["model"] == "tiny" and done["completion_tokens"] > 0 and done["query_id"]
            chat = c.post("/api/v1/chat", json={"messages": [{"role": "user", "content": "refunds?"}]})
            assert chat.status_code == 200 and chat.json()["model"] == "tiny"
    finally:
        server.stop()
