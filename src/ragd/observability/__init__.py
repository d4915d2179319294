"""Metrics (Prometheus), structured logs (structlog), request ids and optional OpenTelemetry spans."""
