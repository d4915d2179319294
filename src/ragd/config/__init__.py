"""The one typed settings tree. Only this package reads the environment (its sections, in ``sections`` and
``security``, are plain models; :class:`Settings` assembles them and reads ``RAGD_*``).

Environment variables use the prefix ``RAGD_`` and ``__`` between levels, e.g. ``RAGD_DATA_DIR=/srv/ragd``,
``RAGD_RETRIEVAL__TOP_K=8``. Unknown keys are an error at start-up (``extra="forbid"``).

A ``.env`` file (same names) is read too, see :mod:`ragd.config.envfile`: arguments (the command line's flags)
beat the environment, which beats the file, which beats the defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ragd.config.envfile import ENV_FILE_VARIABLE as ENV_FILE_VARIABLE
from ragd.config.envfile import dotenv_source
from ragd.config.envfile import env_file as env_file
from ragd.config.envfile import use_env_file as use_env_file
from ragd.config.fetch import FetchSettings
from ragd.config.mail import MailSettings
from ragd.config.ocr import OcrSettings
from ragd.config.office import OfficeSettings

# re-exported: ``from ragd.config import XSettings``
from ragd.config.sections import (
    AnswerSettings,
    ChunkingSettings,
    EmbeddingSettings,
    HealthSettings,
    IngestSettings,
    JobsSettings,
    LLMSettings,
    LoggingSettings,
    MetricsSettings,
    RerankSettings,
    RetrievalSettings,
    ServerSettings,
    StoreSettings,
    TracingSettings,
)
from ragd.config.security import (
    _RATELIMIT_ROLES as _RATELIMIT_ROLES,
)
from ragd.config.security import (
    AuditSettings,
    AuthSettings,
    EncryptionSettings,
    LimitsSettings,
    PrivacySettings,
    RateLimitSettings,
)
from ragd.config.security import (
    decode_encryption_key as decode_encryption_key,
)
from ragd.config.sync import SyncSettings

_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "please-change-me", "x" * 32}


# The Hugging Face tokenizer's own thread pool competes with ONNX Runtime's threads for the same cores while
# documents are chunked and embedded; tokenizing is a few percent of the model's work, so it runs in the calling
# thread unless the operator sets TOKENIZERS_PARALLELISM. Set here because this module is the one that touches the
# environment, and it is imported before any tokenizer is used.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Settings(BaseSettings):
    """All of ragd's configuration."""

    # hide_input_in_errors: a rejected value (a key, a token) is never echoed in the error message or a log.
    # dotenv_filtering: a .env shared with other tools (POSTGRES_PASSWORD=…) is fine; an unknown RAGD_ key in it
    # is an error (extra="forbid").
    model_config = SettingsConfigDict(
        env_prefix="RAGD_", env_nested_delimiter="__", extra="forbid", validate_default=True,
        hide_input_in_errors=True, dotenv_filtering="match_prefix",
    )

    data_dir: Path = Field(Path("ragd-data"), description="Directory holding the store, files and indexes.")
    default_collection: str = Field("default", description="Collection used when none is given.")
    store: StoreSettings = StoreSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    jobs: JobsSettings = JobsSettings()
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
    fetch: FetchSettings = FetchSettings()
    sync: SyncSettings = SyncSettings()
    mail: MailSettings = MailSettings()
    office: OfficeSettings = OfficeSettings()
    ocr: OcrSettings = OcrSettings()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # first wins: arguments (the CLI's flags), then the environment, then the .env file
        return init_settings, env_settings, dotenv_source(settings_cls, dotenv_settings), file_secret_settings

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
