"""Services call their hooks explicitly: nothing is patched onto them at run time, a service built alone runs with
the no-op hooks, and a recording hook object sees the spans and events the contract names."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from ragd.config import Settings
from ragd.core import Ragd
from ragd.ingest.pipeline import IngestService, Upload
from ragd.observability.hooks import NO_HOOKS, Hooks
from ragd.retrieve.service import Retriever


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    @contextmanager
    def _block(self, kind: str, name: str, fields: dict[str, Any]) -> Iterator[None]:
        self.calls.append((kind, name, fields))
        yield

    def span(self, name: str, **attributes: Any) -> AbstractContextManager[object]:
        return self._block("span", name, attributes)

    def observe(self, event: str, **fields: Any) -> None:
        self.calls.append(("event", event, fields))

    def batch(self, doc_ids: Sequence[str]) -> AbstractContextManager[object]:
        return self._block("batch", "", {"doc_ids": list(doc_ids)})


def test_services_call_their_hooks(tmp_path: Path) -> None:
    r = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))
    try:
        for service, methods in ((r.ingest, ("submit_many", "process_batch", "_prepare")),
                                 (r.retriever, ("search",)), (r.embedder, ("embed", "embed_query"))):
            assert not set(methods) & set(vars(service)), service  # no method replaced on the instance
        rec = Recorder()
        hooks: Hooks = rec
        ingest = IngestService(r.store, r.embedder, r.files, r.settings, hooks=hooks)
        subs = ingest.submit_many([Upload(b"The ferry leaves at nine.", "ferry.txt")])
        ingest.process_batch([subs[0].document.id])
        retriever = Retriever(r.store, r.embedder, r.index, r.settings.retrieval, hooks=hooks)
        r.index.sync(r.store)
        assert retriever.search("ferry").hits
        names = [(kind, name) for kind, name, _ in rec.calls]
        assert names == [("event", "submitted"), ("batch", ""), ("span", "ingest"), ("span", "parse"),
                         ("span", "embed"), ("event", "document_processed"), ("span", "search"), ("span", "embed")]
        processed = rec.calls[5][2]
        assert processed["document_id"] == subs[0].document.id and processed["status"] == "indexed"
        assert processed["batch"] == 1 and processed["error_code"] is None
        assert NO_HOOKS.observe("anything") is None  # the default does nothing
        with NO_HOOKS.span("search"), NO_HOOKS.batch(["d"]):
            pass
    finally:
        r.close()
