"""Structured logs: structlog, one JSON object per line in production, readable in a terminal.

Every record — ragd's own and those of libraries through the standard ``logging`` module (uvicorn…) — goes
through the same processors: context variables (``request_id``, ``route``, ``user_id`` bound per request and
carried into the ingestion jobs a request queued), level, logger name, an ISO timestamp, and :func:`redact`,
which masks the values of secret-looking keys (password, token, api_key, authorization, cookie…) and, inside
any string, bearer tokens, passwords in URLs and e-mail addresses. Before it, :func:`redact_pii` replaces the
personal data :mod:`ragd.privacy` detects (e-mail, phone, IBAN, card, NIR, SSN, IP) in every string value of every
event — message and fields, nested ones included — by typed placeholders, always (docs/privacy.md).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from ragd.config import LoggingSettings
from ragd.privacy.pii import redact as redact_text

MASK = "***"
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?$|secret|token|api[_-]?key|authorization|cookie|credential|private[_-]?key", re.I
)
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]+@")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}")


def scrub_text(text: str) -> str:
    """Mask bearer tokens, passwords inside URLs and e-mail addresses in free text."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    return _EMAIL.sub(lambda m: f"{MASK}@{m.group(0).split('@', 1)[1]}", text)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: MASK if isinstance(k, str) and SECRET_KEY.search(k) and v not in (None, "")
                else _scrub(v, depth + 1) for k, v in value.items()}
    if type(value) in (list, tuple):  # not a named tuple: its constructor takes fields, not an iterable
        return type(value)(_scrub(v, depth + 1) for v in value)
    if type(value).__name__ == "SecretStr":
        return MASK
    return value


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: never let a secret, a token or an e-mail address reach the log."""
    for key in list(event_dict):
        value = event_dict[key]
        if key in ("level", "logger", "timestamp"):
            continue
        if SECRET_KEY.search(key) and value not in (None, ""):
            event_dict[key] = MASK
        else:
            event_dict[key] = _scrub(value)
    return event_dict


_SKIP_PII = frozenset(("level", "logger", "timestamp", "_record", "_from_structlog", "exc_info", "stack_info"))


def _pii(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | float) or (isinstance(value, int) and -10**6 < value < 10**6):
        return value  # too short to hold any kind
    if depth <= 8 and isinstance(value, dict):
        return {k: _pii(v, depth + 1) for k, v in value.items()}
    if depth <= 8 and type(value) in (list, tuple):
        return type(value)(_pii(v, depth + 1) for v in value)
    # anything else (a big int, an exception, a model object) is rendered through str(): check that text
    text = str(value)
    clean = redact_text(text)
    return value if clean == text else clean


def redact_pii(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: personal data in any string value (message and fields) becomes ``[EMAIL]``, ``[IBAN]``…"""
    for key in list(event_dict):
        if key not in _SKIP_PII:
            event_dict[key] = _pii(event_dict[key])
    return event_dict


def _renderer(fmt: str, stream: TextIO) -> Any:
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    if fmt == "json":
        return structlog.processors.JSONRenderer(sort_keys=False, default=str)
    return structlog.dev.ConsoleRenderer(colors=stream.isatty())


def configure_logging(settings: LoggingSettings | None = None, stream: TextIO | None = None) -> None:
    """Route every log record of the process through structlog. Idempotent; the last call wins."""
    settings = settings or LoggingSettings()
    stream = stream or sys.stderr
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]  # secrets and personal data are redacted once, by the formatter below (after tracebacks are rendered)
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_pii,
            redact,
            _renderer(settings.format, stream),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name("ragd")
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    # ragd's middleware writes one structured line per request; uvicorn's own access line would repeat it.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
