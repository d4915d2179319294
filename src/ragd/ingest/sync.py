"""Folder sync (``ragd sync DIR``): a collection mirrors a folder — new, changed, moved and deleted files.

The state of a synced folder lives in the store (:mod:`ragd.store.sync_state`): one row per file, naming the
document that holds it. A run compares the folder with those rows:

* a file whose size and modification time are those recorded is **unchanged** and not read;
* otherwise its bytes are hashed: the same hash as recorded is **unchanged** (the row's time is refreshed);
* a file at a new path whose hash is that of a path that disappeared is **moved**: its document is renamed (new
  display name and ``source_path``), nothing is parsed or embedded again;
* a file at a new path is **added**, one whose bytes changed is **updated**: both are submitted like an upload
  (the new version replaces the old once it is indexed, :meth:`ragd.store.base.DocumentStore.submit_documents`);
* a recorded path that disappeared is **deleted**: its row goes, and its document too unless another path of the
  folder still holds the same bytes;
* a file of a type ragd cannot read, or larger than ``ingest.max_upload_mb`` (never read), is **skipped**; one
  that cannot be read, is otherwise refused (an unsafe archive, too many pages) or fails to index is **failed**.

Every change is audited as for uploads: ``document.uploaded`` (added, updated), ``document.renamed`` (moved),
``document.deleted``; each entry names the folder's id and the file's relative path.

Rows are written group by group as files are submitted, so a run that is interrupted resumes: the next run skips
what was recorded, submits the rest (identical bytes already stored are found, not stored twice) and the jobs
left queued are processed. A second run over an unchanged folder reads no file and changes nothing.

Documents are named by their path relative to the folder, joined with ``" › "`` (``docs › a.pdf``): the store
versions documents by name, so two files of the same name in different sub-folders must not share one. Hidden
files and folders (a name starting with ``.``) and symbolic links are ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragd.auth.actor import LOCAL_ACTOR, Actor
from ragd.errors import DocumentNotFound, PayloadTooLarge, RagdError, UnsupportedMediaType
from ragd.ingest.pipeline import Upload
from ragd.models import DocStatus
from ragd.store.sync_state import SyncEntry, SyncStateStore

if TYPE_CHECKING:
    from ragd.core import Ragd

SEPARATOR = " › "
GROUP_FILES = 64
"""Files submitted (and their rows recorded) per durable write."""


def folder_id(root: Path, tenant_id: str, collection: str) -> str:
    """The id of a synced folder: its absolute path in a tenant's collection (the same folder synced into two
    collections is two syncs)."""
    key = f"{tenant_id}\0{collection}\0{root.resolve()}"
    return "f_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def display_name(rel: str) -> str:
    return SEPARATOR.join(rel.split("/"))


def scan(root: Path) -> dict[str, os.stat_result]:
    """Regular files under ``root`` by ``/``-separated relative path (hidden entries and links left out)."""
    found: dict[str, os.stat_result] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = base / name
            st = path.lstat()
            if path.is_symlink() or not path.is_file():
                continue
            found[path.relative_to(root).as_posix()] = st
    return found


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    submitted: dict[str, str] = field(default_factory=dict)
    """Relative path → document id of each file added or updated in this run."""

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in
                ("added", "updated", "moved", "deleted", "unchanged", "skipped", "failed")}

    def summary(self) -> str:
        return ", ".join(f"{n} {k}" for k, n in self.counts().items())

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.moved or self.deleted)


@dataclass
class _Candidate:
    rel: str
    data: bytes
    digest: str
    stat: os.stat_result
    old: SyncEntry | None


class FolderSync:
    """One folder mirrored into one collection by ``actor`` (the CLI's: the local operator)."""

    def __init__(self, r: Ragd, root: Path, collection: str | None = None, *, actor: Actor = LOCAL_ACTOR) -> None:
        if not root.is_dir():
            raise DocumentNotFound(f"{root} is not a folder")
        self.r = r
        self.root = root.resolve()
        self.actor = actor
        self.collection = (collection or r.settings.default_collection).strip()
        self.folder_id = folder_id(self.root, actor.tenant_id, self.collection)
        store = r.store
        if not isinstance(store, SyncStateStore):
            raise TypeError(f"{type(store).__name__} keeps no sync state")
        self.state: SyncStateStore = store

    def run(self, *, dry_run: bool = False, on_submitted: Callable[[int], None] | None = None) -> SyncReport:
        """Bring the collection in line with the folder (only report what would change with ``dry_run``). The
        added and updated documents are queued (``bulk`` queue), not processed: see :meth:`outcome`."""
        if not dry_run:
            self.collection = self.r.access.writable_collection(self.actor, self.collection)
        report = SyncReport()
        state = {e.path: e for e in self.state.sync_entries(self.folder_id)}
        live = self._live_documents({e.document_id for e in state.values()})
        disk = scan(self.root)
        candidates: list[_Candidate] = []
        touched: list[SyncEntry] = []
        limit = int(self.r.settings.ingest.max_upload_mb * 1024 * 1024)
        for rel, st in disk.items():
            old = state.get(rel)
            if old and old.document_id in live and (old.size, old.mtime_ns) == (st.st_size, st.st_mtime_ns):
                report.unchanged.append(rel)
                continue
            if st.st_size > limit:  # never read into memory: it could not be stored anyway
                report.skipped.append((rel, f"[payload_too_large] {st.st_size} bytes; the limit is {limit} bytes "
                                            "(setting RAGD_INGEST__MAX_UPLOAD_MB)"))
                continue
            try:
                data = (self.root / rel).read_bytes()
            except OSError as exc:
                report.failed.append((rel, f"cannot read: {exc.strerror or exc}"))
                continue
            digest = hashlib.sha256(data).hexdigest()
            if old and old.document_id in live and old.content_hash == digest:
                report.unchanged.append(rel)
                touched.append(SyncEntry(self.folder_id, rel, old.document_id, digest, st.st_size, st.st_mtime_ns))
                continue
            candidates.append(_Candidate(rel, data, digest, st, old if old and old.document_id in live else None))
        gone = [e for p, e in state.items() if p not in disk]
        candidates = self._moves(candidates, gone, live, report, dry_run)
        if not dry_run:
            self.state.sync_put(touched)
        self._submit(candidates, report, dry_run, on_submitted)
        self._deletions(gone, state, report, dry_run)
        return report

    # -- steps -----------------------------------------------------------------------------------------------
    def _live_documents(self, ids: set[str]) -> set[str]:
        return {i for i in ids if self.r.store.get_document(i) is not None}

    def _moves(self, candidates: list[_Candidate], gone: list[SyncEntry], live: set[str], report: SyncReport,
               dry_run: bool) -> list[_Candidate]:
        """Rename the documents of files that only moved; returns the candidates left to submit."""
        by_hash = {e.content_hash: e for e in gone if e.document_id in live}
        rest: list[_Candidate] = []
        for c in candidates:
            source = by_hash.pop(c.digest, None) if c.old is None else None
            if source is None:
                rest.append(c)
                continue
            report.moved.append((source.path, c.rel))
            gone.remove(source)
            if dry_run:
                continue
            self.state.sync_put([SyncEntry(self.folder_id, c.rel, source.document_id, c.digest, c.stat.st_size,
                                           c.stat.st_mtime_ns)])
            self.state.sync_remove(self.folder_id, [source.path])
            if self.state.rename_document(source.document_id, display_name(c.rel), {"source_path": c.rel}):
                self.r.audit_event("document.renamed", self.actor, target=source.document_id, details={
                    "collection": self.collection, "from": source.path, "to": c.rel, "sync_folder": self.folder_id})
        return rest

    def _submit(self, candidates: list[_Candidate], report: SyncReport, dry_run: bool,
                on_submitted: Callable[[int], None] | None) -> None:
        group: list[tuple[_Candidate, Upload]] = []
        for c in candidates:
            name = display_name(c.rel)
            try:
                mime = self.r.ingest.check(c.data, name)
            except (UnsupportedMediaType, PayloadTooLarge) as exc:  # a policy, not an accident: rerunning won't help
                report.skipped.append((c.rel, f"[{exc.code}] {exc.detail}"))
                continue
            except RagdError as exc:
                report.failed.append((c.rel, f"[{exc.code}] {exc.detail}"))
                continue
            (report.updated if c.old else report.added).append(c.rel)
            if dry_run:
                continue
            meta = {"source_path": c.rel, "sync_folder": self.folder_id}
            group.append((c, Upload(c.data, name, mime, meta)))
            if len(group) >= GROUP_FILES:
                self._flush(group, report, on_submitted)
                group = []
        self._flush(group, report, on_submitted)

    def _flush(self, group: list[tuple[_Candidate, Upload]], report: SyncReport,
               on_submitted: Callable[[int], None] | None) -> None:
        if not group:
            return
        subs = self.r.submit_many([u for _, u in group], collection=self.collection, tenant_id=self.actor.tenant_id,
                                  queue="bulk")
        entries = [SyncEntry(self.folder_id, c.rel, s.document.id, c.digest, c.stat.st_size, c.stat.st_mtime_ns)
                   for (c, _), s in zip(group, subs, strict=True)]
        self.state.sync_put(entries)
        for (c, _), s in zip(group, subs, strict=True):
            report.submitted[c.rel] = s.document.id
            doc = s.document
            self.r.audit_event("document.uploaded", self.actor, target=doc.id, details={
                "collection": doc.collection, "filename": doc.filename, "size": doc.size, "sha256": doc.content_hash,
                "duplicate": s.duplicate, "sync_folder": self.folder_id, "source_path": c.rel})
            old = c.old
            # the old version of a changed file goes when the new one is indexed (it replaces it by name); when
            # the new bytes were already a document of the collection, nothing replaces it: delete it now
            if old and old.document_id != s.document.id and s.document.replaces != old.document_id:
                self._delete_unreferenced(old.document_id)
        if on_submitted:
            on_submitted(len(group))

    def _deletions(self, gone: list[SyncEntry], state: dict[str, SyncEntry], report: SyncReport,
                   dry_run: bool) -> None:
        for e in gone:
            report.deleted.append(e.path)
        if dry_run or not gone:
            return
        self.state.sync_remove(self.folder_id, [e.path for e in gone])
        for doc_id in dict.fromkeys(e.document_id for e in gone):
            self._delete_unreferenced(doc_id)

    def _delete_unreferenced(self, doc_id: str) -> None:
        """Delete ``doc_id`` unless a file of the folder still holds it (audited as ``document.deleted``)."""
        if any(e.document_id == doc_id for e in self.state.sync_entries(self.folder_id)):
            return
        with contextlib.suppress(DocumentNotFound):  # already gone
            self.r.delete_document(self.actor, doc_id)

    # -- outcome ---------------------------------------------------------------------------------------------
    def outcome(self, report: SyncReport) -> None:
        """After the queued documents were processed: move those that failed from added/updated to failed. The old
        version a failed one was to replace is deleted (the folder no longer holds those bytes)."""
        for rel, doc_id in report.submitted.items():
            doc = self.r.store.get_document(doc_id)
            if doc is not None and doc.status is DocStatus.FAILED:
                if doc.replaces:
                    self._delete_unreferenced(doc.replaces)
                for bucket in (report.added, report.updated):
                    if rel in bucket:
                        bucket.remove(rel)
                report.failed.append((rel, f"failed at {doc.failed_step} [{doc.error_code}]: {doc.error}"))
