"""Optional OpenTelemetry traces: with tracing on, ingesting and answering leave one span per expensive step
(ingest, parse, embed, search, rerank, generate), collected by the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.retrieve.test_rerank import FakeRerank, tei_reply

from ragd.config import Settings
from ragd.core import Ragd

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def provider() -> None:
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(tp)  # the global provider can be set once per process


@pytest.fixture
def rerank() -> Iterator[FakeRerank]:
    server = FakeRerank(tei_reply)
    yield server
    server.server.shutdown()


def test_each_step_leaves_a_span(tmp_path: Path, rerank: FakeRerank) -> None:
    _EXPORTER.clear()
    r = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}, tracing={"enabled": True},
                      rerank={"backend": "tei", "url": rerank.url}))
    try:
        r.submit(b"The warehouse opens at nine. Deliveries arrive on Mondays.", "warehouse.txt")
        r.submit(b"The office opens at eight. The warehouse closes at six.", "office.txt")
        r.workers.drain()
        result = r.query("When does the warehouse open?")
        assert result.answer is not None and result.answer.found
    finally:
        r.close()
    names = [s.name for s in _EXPORTER.get_finished_spans()]
    assert {"ingest", "parse", "embed", "search", "rerank", "generate"} <= set(names), names
    ingest = next(s for s in _EXPORTER.get_finished_spans() if s.name == "ingest")
    assert ingest.attributes["ragd.documents"] == 2
    search = next(s for s in _EXPORTER.get_finished_spans() if s.name == "search")
    rerank_span = next(s for s in _EXPORTER.get_finished_spans() if s.name == "rerank")
    assert rerank_span.context.trace_id == search.context.trace_id  # rerank runs inside the search


def test_tracing_off_leaves_nothing(tmp_path: Path) -> None:
    _EXPORTER.clear()
    r = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))
    try:
        r.submit(b"Quiet text.", "quiet.txt")
        r.workers.drain()
        r.query("quiet?")
    finally:
        r.close()
    assert _EXPORTER.get_finished_spans() == ()
