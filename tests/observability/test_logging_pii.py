"""Personal data never reaches the logs: every string of every event is redacted, whatever logger wrote it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from ragd.config import LoggingSettings
from ragd.ingest import pipeline
from ragd.observability.logging import configure_logging, get_logger

EMAIL, IBAN, CARD = "claire.moreau@exemple.fr", "FR76 3000 6000 0112 3456 7890 189", "4111-1111-1111-1111"
SECRETS = (EMAIL, IBAN, CARD, "FR7630006000011234567890189", "4111111111111111", "claire.moreau", "3000 6000 0112")


@pytest.fixture
def buf() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging(LoggingSettings(format="json"), out)
    yield out
    configure_logging(LoggingSettings(format="console"))  # leave a sane set-up for other tests


def test_message_fields_nested_values_and_tracebacks_are_redacted(buf: io.StringIO) -> None:
    log = get_logger("ragd.ingest")
    log.info(f"refund to {IBAN} for {EMAIL}", card=CARD, customer={"email": EMAIL, "ibans": [IBAN]},
             note=("paid with", CARD), count=3)
    pipeline.log.info("document %s failed at %s: %s", "d_1", "parsing", f"owner {EMAIL}, iban {IBAN}")
    logging.getLogger("uvicorn.error").warning("client %s sent card %s", EMAIL, CARD.replace("-", ""))
    try:
        raise ValueError(f"bad card {CARD} for {EMAIL}")
    except ValueError:
        log.exception("charge failed")
    try:
        raise RuntimeError(f"iban {IBAN}")
    except RuntimeError:
        pipeline.log.exception("worker crashed")

    text = buf.getvalue()
    for secret in SECRETS:
        assert secret not in text, secret
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) == 5
    first = lines[0]
    assert first["event"] == "refund to [IBAN] for [EMAIL]"
    assert first["card"] == "[CARD]" and first["count"] == 3
    assert first["customer"] == {"email": "[EMAIL]", "ibans": ["[IBAN]"]} and first["note"] == ["paid with", "[CARD]"]
    assert lines[1]["event"] == "document d_1 failed at parsing: owner [EMAIL], iban [IBAN]"
    assert lines[1]["logger"] == "ragd.ingest.pipeline"
    assert lines[2]["event"] == "client [EMAIL] sent card [CARD]"
    assert "[CARD]" in lines[3]["exception"] and "ValueError" in lines[3]["exception"]
    assert "[IBAN]" in lines[4]["exception"] and "RuntimeError" in lines[4]["exception"]


def test_objects_rendered_through_str_are_redacted(buf: io.StringIO) -> None:
    from ragd.privacy import PiiMatch

    err = ValueError(f"cannot charge {CARD}")
    get_logger("ragd.x").warning("failed", error=err, number=4111111111111111, match=PiiMatch("email", 0, 1, EMAIL),
                                 small=42, ratio=0.5, ok=True)
    line = json.loads(buf.getvalue().splitlines()[0])
    assert line["error"] == "cannot charge [CARD]" and line["number"] == "[CARD]"
    assert (line["small"], line["ratio"], line["ok"]) == (42, 0.5, True)
    assert EMAIL not in buf.getvalue() and "4111111111111111" not in buf.getvalue()


def test_context_variables_are_redacted_too(buf: io.StringIO) -> None:
    import structlog

    with structlog.contextvars.bound_contextvars(user_id=EMAIL):
        get_logger("ragd.api").info("request", route="/api/v1/query")
    line = json.loads(buf.getvalue().splitlines()[0])
    assert line["user_id"] == "[EMAIL]" and EMAIL not in buf.getvalue()


def test_console_format_is_redacted(buf: io.StringIO) -> None:
    out = io.StringIO()
    configure_logging(LoggingSettings(format="console"), out)
    get_logger("ragd.x").warning("mail", to=EMAIL, iban=IBAN)
    assert EMAIL not in out.getvalue() and IBAN not in out.getvalue() and "[EMAIL]" in out.getvalue()
