"""The hook services call to be observed: spans, events and the log context of a batch.

A service (ingestion, retrieval) receives a :class:`Hooks` object and calls it explicitly around its expensive
steps; it never knows whether anything listens. The default, :data:`NO_HOOKS`, does nothing (a service built
alone, in a test or a one-shot tool, costs nothing extra); :class:`ragd.observability.instrument.Instrumentation`
is the real one (metrics, structured logs, OpenTelemetry spans) that the composition root hands to every
service. This replaces decorating the services' methods after they are built: the call sites are visible in the
services' code, and a renamed method cannot silently lose its span.

Events a service reports with :meth:`Hooks.observe` (names and fields are part of the contract):

* ``"submitted"``: ``submissions`` — the :class:`ragd.ingest.pipeline.Submission` list of one upload request.
* ``"document_processed"``: ``document_id``, ``status`` (a :class:`ragd.models.DocStatus` value),
  ``error_code`` (of a failed document, else ``None``), ``batch`` (documents in the batch), ``batch_ms``.

Span names: ``ingest`` (one batch; attribute ``documents``), ``parse`` (parsing and chunking of one document),
``embed``, ``search``, ``rerank`` (inside ``search``), ``generate``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol


class Hooks(Protocol):
    def span(self, name: str, **attributes: Any) -> AbstractContextManager[object]:
        """A trace span around the block (attributes are recorded as ``ragd.<key>``)."""

    def observe(self, event: str, **fields: Any) -> None:
        """Something happened (see the module's list of events): count it, log it."""

    def batch(self, doc_ids: Sequence[str]) -> AbstractContextManager[object]:
        """Around the processing of a batch of documents: the log lines written inside carry the ids of the
        requests that queued them."""


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


class NoHooks:
    """Hooks that do nothing (the default)."""

    def span(self, name: str, **attributes: Any) -> AbstractContextManager[object]:
        return _nothing()

    def observe(self, event: str, **fields: Any) -> None:
        return None

    def batch(self, doc_ids: Sequence[str]) -> AbstractContextManager[object]:
        return _nothing()


NO_HOOKS: Hooks = NoHooks()
