"""Optional OpenTelemetry spans around the expensive steps (ingest, parse, embed, search, rerank, generate).

Off by default (``RAGD_TRACING__ENABLED``). When on, spans go to the global tracer provider, which the
OpenTelemetry SDK configures from the standard ``OTEL_*`` variables (``opentelemetry-instrument`` or the
operator's own start-up code); without the ``otel`` extra installed, start-up fails with an install hint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from ragd.errors import ConfigurationError

F = TypeVar("F", bound=Callable[..., Any])


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

    def wrap(self, name: str, fn: F) -> F:
        """``fn`` inside a span called ``name`` (``fn`` itself when tracing is off)."""
        if self._tracer is None:
            return fn

        @wraps(fn)
        def traced(*args: Any, **kwargs: Any) -> Any:
            with self.span(name):
                return fn(*args, **kwargs)

        return traced  # type: ignore[return-value]
