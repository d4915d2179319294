"""Optional OpenTelemetry spans around the expensive steps (ingest, parse, embed, search, rerank, generate).

Off by default (``RAGD_TRACING__ENABLED``). When on, spans go to the global tracer provider, which the
OpenTelemetry SDK configures from the standard ``OTEL_*`` variables (``opentelemetry-instrument`` or the
operator's own start-up code); without the ``otel`` extra installed, start-up fails with an install hint.
Services open spans through their hooks (:mod:`ragd.observability.hooks`), which call :meth:`Tracer.span`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ragd.errors import ConfigurationError


class Tracer:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._tracer: Any = None
        if enabled:
            try:
                from opentelemetry import trace
            except ImportError as exc:  # pragma: no cover - depends on the extra
                raise ConfigurationError(
                    "RAGD_TRACING__ENABLED=true needs OpenTelemetry: pip install 'ragd[otel]'"
                ) from exc
            self._tracer = trace.get_tracer("ragd")

    @contextmanager
    def span(self, name: str, **attributes: Any) -> Iterator[Any]:
        if self._tracer is None:
            yield None
            return
        with self._tracer.start_as_current_span(name) as span:
            for key, value in attributes.items():
                span.set_attribute(f"ragd.{key}", value)
            yield span
