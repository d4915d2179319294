"""``ragd doctor``: do the store, the dense and lexical indexes and the stored files agree?

Checks (each reports how many differences it found):

* ``model`` — the store records an embedding model and dimension, and it is the configured model.
* ``dense_index`` — the saved dense index loads (files present, checksums right, same model and dimension)
  and, once caught up from the change log, holds exactly the store's chunk seqs; every chunk has an embedding.
* ``lexical_index`` — the FTS5 index holds exactly the store's chunk seqs (SQLite).
* ``files`` — every document's original is stored; files with no document (older than an hour, so an upload
  in flight is not one) are reported as orphans; every file is plain or encrypted under a configured key
  (headers only are read; the detail counts plain files and files per key id).
* ``jobs`` — no job has sat queued or running past ``health.stuck_job_minutes``; no unfinished document lacks
  a job to finish it.

``repair=True`` rebuilds the dense index from the store, rebuilds the FTS5 index from the chunks, re-queues
unfinished documents without a job and deletes orphan files; then checks again. Missing originals and a model
change cannot be repaired here (re-upload; ``ragd reindex``). The doctor never loads the embedding model, so
it runs in a second while a server is serving the same directory. A directory without a store is refused
(``store_not_found``) before anything is opened, so the doctor never creates an empty database there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from ragd.config import Settings
from ragd.embed.model_folder import recorded_name
from ragd.errors import StoreNotFound
from ragd.index.dense import DenseIndex
from ragd.ingest.files import FileStore, open_file_store
from ragd.ops.sqlite_inspect import SqliteInspector, sqlite_path
from ragd.security.encryption import CRYPTO_ERRORS
from ragd.store.backend import STORE_ID_KEY, Backend, open_backend
from ragd.store.base import Store
from ragd.store.sqlite.connection import path_from_url

ORPHAN_AGE_S = 3600.0


@dataclass(slots=True)
class Finding:
    check: str
    differences: int
    detail: str
    items: list[str] = field(default_factory=list)
    repairable: bool = False

    @property
    def ok(self) -> bool:
        return self.differences == 0


def existing_store_url(settings: Settings) -> str:
    """``settings.store_url`` when it names a store that exists; ``StoreNotFound`` for a SQLite file that does not
    (opening it would create an empty database)."""
    url = settings.store_url
    if url.startswith("sqlite") or "://" not in url:
        path = path_from_url(url)
        if not path.is_file():
            raise StoreNotFound(f"no ragd store at {path}: is the data directory right (--data-dir, "
                                "RAGD_DATA_DIR)? Nothing was created.")
    return url


class Doctor:
    def __init__(self, settings: Settings, store: Store | None = None, files: FileStore | None = None) -> None:
        self.settings = settings
        # a store handed in (the server's) stays open; otherwise the doctor opens the backend and closes it
        self._backend: Backend | None = None
        if store is None:
            self._backend = open_backend(existing_store_url(settings), migrate=False)
            store = self._backend.store
        self.store = store
        self._closing = ExitStack()
        # the originals: files under DATA_DIR/files, or the database's blobs on PostgreSQL
        self.files = files or self._closing.enter_context(open_file_store(settings, migrate=False))
        path = sqlite_path(self.store)
        self.sql = SqliteInspector(path) if path is not None else None
        self.model = self.store.get_meta("embedding_model")
        dim = self.store.get_meta("embedding_dim")
        self.dim = int(dim) if dim else None
        self.store_id = self.store.get_meta(STORE_ID_KEY)  # the saved dense index must be this store's
        self.index_dir = settings.data_dir / "index"
        self.cipher = self.files.cipher

    def close(self) -> None:
        self._closing.close()
        if self.sql is not None:
            self.sql.close()
        if self._backend is not None:
            self._backend.close()

    # -- checks ----------------------------------------------------------------------------------------------
    def _store_seqs(self) -> np.ndarray:
        if self.sql is not None:
            return self.sql.chunk_seqs()
        parts = [seqs for seqs, _ in self.store.iter_vectors(self.model or "")]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def check_model(self) -> Finding:
        configured = recorded_name(self.settings.embedding)  # the name plus its prompts' tag (docs/embeddings.md)
        if self.model is None:
            n = self.store.count_chunks()
            detail = "no embedding model recorded" + (f" but {n} chunks" if n else "")
            return Finding("model", int(n > 0), detail)
        if self.model != configured:
            return Finding("model", 1, f"the store was built with {self.model} (dim {self.dim}) but "
                           f"{configured} is configured: run `ragd reindex`")
        return Finding("model", 0, f"{self.model} (dim {self.dim})")

    def check_dense_index(self) -> Finding:
        if self.model is None or self.dim is None:
            return Finding("dense_index", 0, "no model recorded yet: nothing to index")
        index = DenseIndex(self.index_dir, self.model, self.dim, self.store_id)
        store_seqs = self._store_seqs()
        if not index.load():
            if len(store_seqs) == 0 and not (self.index_dir / "dense.json").exists():
                return Finding("dense_index", 0, "empty store, no saved index")
            return Finding("dense_index", max(1, len(store_seqs)), "the saved dense index is missing, "
                           f"unreadable or for another model or store ({self.index_dir}); "
                           f"{len(store_seqs)} chunks to index",
                           repairable=True)
        saved, behind = len(index), self.store.last_change_id() - index.watermark
        index.sync(self.store)
        have = index.seqs()
        missing = np.setdiff1d(store_seqs, have)
        extra = np.setdiff1d(have, store_seqs)
        unembedded = self.sql.chunks_without_embedding(self.model) if self.sql is not None else 0
        diffs = len(missing) + len(extra) + unembedded
        detail = (f"{len(have)} vectors for {len(store_seqs)} chunks (saved file: {saved} vectors, "
                  f"{behind} changes behind, caught up from the change log)")
        if diffs:
            detail += f"; {len(missing)} chunks not indexed, {len(extra)} vectors without a chunk"
            if unembedded:
                detail += f", {unembedded} chunks without an embedding"
        items = [f"missing seq {s}" for s in missing[:20]] + [f"extra seq {s}" for s in extra[:20]]
        return Finding("dense_index", diffs, detail, items, repairable=bool(len(missing) + len(extra)))

    def check_lexical_index(self) -> Finding:
        if self.sql is None:
            return Finding("lexical_index", 0, "lives inside the store (not checked for this adapter)")
        chunks, fts = self.sql.chunk_seqs(), self.sql.fts_seqs()
        missing, extra = np.setdiff1d(chunks, fts), np.setdiff1d(fts, chunks)
        diffs = len(missing) + len(extra)
        detail = f"{len(fts)} FTS rows for {len(chunks)} chunks"
        if diffs:
            detail += f"; {len(missing)} chunks not in the lexical index, {len(extra)} stale rows"
        items = [f"missing seq {s}" for s in missing[:20]] + [f"extra seq {s}" for s in extra[:20]]
        return Finding("lexical_index", diffs, detail, items, repairable=True)

    def _file_ids(self) -> dict[str, float]:
        """Every stored original's key and time of writing."""
        return dict(self.files.iter_stored())

    def check_files(self) -> Finding:
        docs = self._document_ids()
        files = self._file_ids()
        missing = sorted(d for d in docs if d not in files)
        now = time.time()
        orphans = sorted(
            k for k, written in files.items() if k not in docs and now - written > ORPHAN_AGE_S
        )
        formats, unreadable = self._file_formats(files)
        detail = f"{len(docs)} documents, {len(files)} stored originals ({formats})"
        if missing:
            detail += f"; {len(missing)} documents have no stored original (upload them again)"
        if orphans:
            detail += f"; {len(orphans)} orphan files"
        if unreadable:
            detail += f"; {len(unreadable)} files encrypted under a key not configured, or damaged"
        items = [f"missing original {d}" for d in missing[:20]] + [f"orphan {o}" for o in orphans[:20]]
        items += [f"unreadable {u}" for u in unreadable[:20]]
        return Finding("files", len(missing) + len(orphans) + len(unreadable), detail, items,
                       repairable=bool(orphans) and not missing)

    def _file_formats(self, files: dict[str, float]) -> tuple[str, list[str]]:
        """A summary (plain files, files per key id) and the files no configured key opens (by header)."""
        counts: dict[str, int] = {}
        unreadable: list[str] = []
        for name in sorted(files):
            try:
                fmt = self.files.state(name)
            except (OSError, *CRYPTO_ERRORS):
                unreadable.append(f"{name} (unreadable header)")
                continue
            if fmt is None:  # deleted meanwhile
                continue
            label = "plain" if fmt.key_id is None else f"key {fmt.key_id}"
            counts[label] = counts.get(label, 0) + 1
            if fmt.key_id is not None and fmt.key_id not in self.cipher.known_key_ids:
                unreadable.append(f"{name} (key id {fmt.key_id})")
        return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none", unreadable

    def _document_ids(self) -> set[str]:
        if self.sql is not None:
            return {d for d, _, _ in self.sql.documents()}
        ids: set[str] = set()
        while True:
            docs, _ = self.store.list_documents(limit=500, offset=len(ids))
            if not docs:
                return ids
            ids.update(d.id for d in docs)

    def check_jobs(self) -> Finding:
        if self.sql is None:
            return Finding("jobs", 0, f"{self.store.queue_depth()} jobs queued or running")
        stuck = self.sql.stuck_jobs(self.settings.health.stuck_job_minutes * 60)
        orphaned = self.sql.unfinished_without_job()
        detail = f"{self.store.queue_depth()} jobs queued or running"
        if stuck:
            minutes = self.settings.health.stuck_job_minutes
            detail += (f"; {len(stuck)} stuck (no progress for {minutes:g} min or lease expired: is a server "
                       "or worker running?)")
        if orphaned:
            detail += f"; {len(orphaned)} unfinished documents without a job"
        items = [f"job {j['job_id']} ({j['status']}, document {j['document_id']}, idle {j['idle_s']} s)"
                 for j in stuck[:20]] + [f"no job for {d}" for d in orphaned[:20]]
        return Finding("jobs", len(stuck) + len(orphaned), detail, items, repairable=bool(orphaned))

    def checks(self) -> list[Finding]:
        return [self.check_model(), self.check_dense_index(), self.check_lexical_index(), self.check_files(),
                self.check_jobs()]

    # -- repairs ---------------------------------------------------------------------------------------------
    def _repair_dense(self) -> str:
        assert self.model is not None and self.dim is not None
        index = DenseIndex(self.index_dir, self.model, self.dim, self.store_id)
        n = index.rebuild(self.store)
        index.save()
        return f"dense index rebuilt from the store: {n} vectors"

    def _repair_lexical(self) -> str:
        assert self.sql is not None
        self.sql.rebuild_fts()
        return "lexical index rebuilt from the chunks"

    def _repair_files(self) -> str:
        docs, files, now = self._document_ids(), self._file_ids(), time.time()
        gone = [k for k, written in files.items() if k not in docs and now - written > ORPHAN_AGE_S]
        for k in gone:
            self.files.delete(k)
        return f"{len(gone)} orphan files deleted"

    def _repair_jobs(self) -> str:
        assert self.sql is not None
        ids = self.sql.unfinished_without_job()
        for d in ids:
            self.store.enqueue_job(d)
        return f"{len(ids)} unfinished documents queued again"

    REPAIRS: ClassVar[dict[str, Callable[[Doctor], str]]] = {
        "dense_index": _repair_dense, "lexical_index": _repair_lexical, "files": _repair_files,
        "jobs": _repair_jobs,
    }

    def run(self, repair: bool = False) -> dict[str, Any]:
        findings = self.checks()
        repaired: list[str] = []
        if repair:
            for f in findings:
                if not f.ok and f.repairable:
                    repaired.append(self.REPAIRS[f.check](self))
            if repaired:
                findings = self.checks()
        total = sum(f.differences for f in findings)
        return {
            "ok": total == 0,
            "differences": total,
            "checks": [{**asdict(f), "ok": f.ok} for f in findings],
            "repaired": repaired,
        }


def run_doctor(settings: Settings, *, repair: bool = False, store: Store | None = None,
               files: FileStore | None = None) -> dict[str, Any]:
    doctor = Doctor(settings, store, files)
    try:
        return doctor.run(repair)
    finally:
        doctor.close()
