"""Structured logs: JSON lines with context, console for humans, and no secrets."""

from __future__ import annotations

import io
import json
import logging

import structlog

from ragd.config import LoggingSettings
from ragd.observability.logging import configure_logging, get_logger, scrub_text


def _lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_context_and_hide_secrets() -> None:
    buf = io.StringIO()
    configure_logging(LoggingSettings(format="json"), buf)
    with structlog.contextvars.bound_contextvars(request_id="r-1"):
        get_logger("ragd.test").info("login", user_id="u1", password="hunter2", api_key="sk-123",
                                     headers={"Authorization": "Bearer abcdef123456"}, nested=[{"token": "t"}])
        logging.getLogger("uvicorn.error").warning(
            "from ann@example.org with Bearer zzzzzzzzzz to postgresql://ragd:pw@db/ragd")
    first, second = _lines(buf)
    assert first["event"] == "login" and first["request_id"] == "r-1" and first["level"] == "info"
    assert first["user_id"] == "u1" and "timestamp" in first and first["logger"] == "ragd.test"
    assert first["password"] == first["api_key"] == "***"
    assert first["headers"] == {"Authorization": "***"} and first["nested"] == [{"token": "***"}]
    assert second["logger"] == "uvicorn.error" and second["request_id"] == "r-1"
    text = buf.getvalue()
    for secret in ("hunter2", "sk-123", "abcdef123456", "zzzzzzzzzz", "ann@", ":pw@"):
        assert secret not in text


def test_console_format_is_not_json() -> None:
    buf = io.StringIO()
    configure_logging(LoggingSettings(format="console"), buf)
    get_logger("ragd.test").info("hello", n=1)
    line = buf.getvalue().strip()
    assert "hello" in line and "n=1" in line and not line.startswith("{")


def test_auto_is_json_when_not_a_terminal() -> None:
    buf = io.StringIO()
    configure_logging(LoggingSettings(format="auto"), buf)
    get_logger("x").warning("w")
    assert _lines(buf)[0]["event"] == "w"
    configure_logging(LoggingSettings(format="console"))  # leave a sane set-up for other tests


def test_scrub_text() -> None:
    assert scrub_text("mail bob@corp.example now") == "mail ***@corp.example now"
    assert scrub_text("redis://:s3cr3t@cache:6379/0") == "redis://:***@cache:6379/0"
