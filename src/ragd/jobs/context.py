"""What one ``ragd worker`` process needs to ingest, built once per process from the settings: the store backend,
the embedder (checked against the model the store's vectors were made with), the originals and the
:class:`~ragd.ingest.pipeline.IngestService`, built by the same pieces as :class:`ragd.core.Ragd`'s — without the
API, the derived indexes or the answer services (the servers follow the store's change feed)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from threadpoolctl import threadpool_limits

from ragd.config import Settings
from ragd.core import check_model, open_originals
from ragd.embed import create_embedder
from ragd.ingest.pipeline import IngestService
from ragd.jobs.metrics import TaskMetrics
from ragd.models import JOB_QUEUES
from ragd.observability.instrument import Instrumentation
from ragd.security.filemodes import private_dir
from ragd.store.backend import open_backend

log = logging.getLogger(__name__)


class WorkerContext:
    """One process's ingestion (thread-safe: the threads of a ``threads`` pool share it, and the model)."""

    def __init__(self, settings: Settings, *, queues: Sequence[str] = JOB_QUEUES) -> None:
        threadpool_limits(limits=1, user_api="blas")  # as in Ragd: ONNX Runtime keeps its own threads
        self.settings = settings
        self.queues = tuple(queues)
        private_dir(settings.data_dir)
        self.backend = open_backend(settings.store_url)
        try:
            self.store = self.backend.store
            self.obs = Instrumentation(settings)
            self.embedder = create_embedder(settings.embedding)
            check_model(self.store, self.embedder, allow_change=False)
            self.files = open_originals(settings, self.backend)
            self.ingest = IngestService(self.store, self.embedder, self.files, settings,
                                        collection_privacy=self.backend.identities.collection_privacy,
                                        hooks=self.obs)
        except BaseException:
            self.backend.close()
            raise
        # the task metrics join the pipeline's registry: one endpoint serves both (ragd worker --metrics-port)
        self.metrics = TaskMetrics(self.obs.metrics.registry)
        self._closed = False
        self._warm_up: threading.Thread | None = None

    def warm_up(self) -> None:
        """Pay the model's first slow batch before the first task (off the task's clock)."""
        self._warm_up = threading.Thread(target=self.embedder.warm_up, name="ragd-warm-up", daemon=True)
        self._warm_up.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._warm_up is not None:  # an interpreter leaving while the model runs aborts the process
            self._warm_up.join(60)
        self.obs.close()
        self.backend.close()
