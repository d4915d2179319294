"""Attachments as child documents: which of a parsed document's attachments are indexed, and which are skipped.

An e-mail's attachments (:attr:`ragd.models.ParsedDocument.attachments`) become documents of their own, in the
parent's collection (so under the same permissions), with ``parent_id`` naming the document they were found in
and ``attached_to`` in their metadata (what a citation shows: ``'Subject' (mail.eml)``). Deleting a parent
deletes its children (the store does, recursively).

An attachment is skipped — listed in the parent's ``attachments_skipped`` metadata with a stable code and a reason,
never a failure of the parent, whose own text is indexed — when:

* it lies deeper than ``mail.max_depth`` messages (``nesting_too_deep``);
* it holds the same bytes as a message it is nested in, or as an attachment of the same message already taken
  (``attachment_loop``);
* the message has more than ``mail.max_attachments`` attachments (``too_many_attachments``), or they add up to
  more than ``mail.max_attachments_mb`` decoded (``attachments_too_large``);
* the upload checks refuse it (``unsupported_media_type``, ``payload_too_large``, ``archive_unsafe``…), or it is
  empty (``document_empty``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ragd.config import Settings
from ragd.errors import (
    AttachmentLoop,
    AttachmentsTooLarge,
    DocumentEmpty,
    NestingTooDeep,
    RagdError,
    TooManyAttachments,
)
from ragd.ingest.files import FileStore, sanitize_filename
from ragd.models import Attachment, Document, ParsedDocument
from ragd.store.base import DocumentStore

SKIPPED_KEY = "attachments_skipped"
"""The parent's metadata key listing the attachments not indexed: ``{"filename", "code", "reason"}`` each."""
_MAX_CHAIN = 64  # parents followed at most (a chain longer than any allowed depth)
_PARENT_ONLY = frozenset({SKIPPED_KEY, "attached_to", "mail_from", "mail_to", "mail_cc", "mail_date", "mail_subject",
                          "mail_message_id"})
"""Metadata a child does not inherit from its parent (the parent's own, found by parsing it)."""


@dataclass(slots=True)
class ChildPlan:
    """The children to create for one parsed document, and the metadata its parsing adds."""

    children: list[tuple[Document, bytes]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def skip(self, attachment: Attachment, code: str, reason: str) -> None:
        self.skipped.append({"filename": sanitize_filename(attachment.filename), "code": code, "reason": reason})


def ancestors(store: DocumentStore, doc: Document) -> list[Document]:
    """The documents ``doc`` was found in, nearest first (empty for an upload)."""
    chain: list[Document] = []
    seen = {doc.id}
    parent_id = doc.parent_id
    while parent_id and parent_id not in seen and len(chain) < _MAX_CHAIN:
        parent = store.get_document(parent_id)
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.id)
        parent_id = parent.parent_id
    return chain


def attached_to(doc: Document, parsed: ParsedDocument) -> str:
    """How a child's citation names its parent: ``'Subject' (mail.eml)``, or the file name alone."""
    subject = parsed.metadata.get("mail_subject")
    return f"{subject!r} ({doc.filename})" if subject else doc.filename


def plan_children(
    doc: Document, parsed: ParsedDocument, chain: list[Document], settings: Settings,
    check: Callable[[bytes, str], str], *, in_tree: int = 0,
) -> ChildPlan:
    """Decide which of ``parsed.attachments`` become child documents of ``doc`` (``chain``: its ancestors, from
    :func:`ancestors`; ``check``: the upload checks, returning the sniffed type; ``in_tree``: how many documents the
    upload ``doc`` belongs to has fanned out to already, counted against ``mail.max_documents``)."""
    plan = ChildPlan()
    if not parsed.attachments:
        return plan
    mail = settings.mail
    depth = len(chain) + 1  # of the attachments
    budget = int(mail.max_attachments_mb * 1024 * 1024)
    seen = {doc.content_hash, *(a.content_hash for a in chain)}
    total = 0
    names: set[str] = set()
    label = attached_to(doc, parsed)
    for att in parsed.attachments:
        if depth > mail.max_depth:
            plan.skip(att, NestingTooDeep.code, f"the attachment lies {depth} messages deep; the limit is "
                      f"{mail.max_depth} (RAGD_MAIL__MAX_DEPTH)")
            continue
        if not att.data.strip():
            plan.skip(att, DocumentEmpty.code, "the attachment is empty")
            continue
        digest = hashlib.sha256(att.data).hexdigest()
        if digest in seen:
            plan.skip(att, AttachmentLoop.code, "the attachment repeats the bytes of a message it is nested in or of "
                      "another attachment of this message; indexed once")
            continue
        seen.add(digest)
        if len(plan.children) >= mail.max_attachments:
            plan.skip(att, TooManyAttachments.code, f"the message has more than {mail.max_attachments} attachments "
                      "(RAGD_MAIL__MAX_ATTACHMENTS)")
            continue
        if in_tree + len(plan.children) >= mail.max_documents:
            plan.skip(att, TooManyAttachments.code, f"the upload this message came in already has "
                      f"{mail.max_documents} documents inside it (RAGD_MAIL__MAX_DOCUMENTS)")
            continue
        if total + len(att.data) > budget:
            plan.skip(att, AttachmentsTooLarge.code, f"the attachments add up to more than {mail.max_attachments_mb:g}"
                      " MiB decoded (RAGD_MAIL__MAX_ATTACHMENTS_MB)")
            continue
        try:
            mime = check(att.data, att.filename)
        except RagdError as exc:
            plan.skip(att, exc.code, exc.detail)
            continue
        total += len(att.data)
        metadata: dict[str, Any] = {k: v for k, v in doc.metadata.items() if k not in _PARENT_ONLY}
        metadata["attached_to"] = label
        child = Document(
            id="d_" + uuid.uuid4().hex[:20], collection=doc.collection, filename=_unique(att.filename, names),
            content_hash=digest, mime=mime, size=len(att.data), metadata=metadata, tenant_id=doc.tenant_id,
            uploaded_by=doc.uploaded_by, parent_id=doc.id,
        )
        plan.children.append((child, att.data))
    return plan


def _unique(filename: str, taken: set[str]) -> str:
    """The sanitized name, made unique among the message's children (``a.pdf``, ``a (2).pdf``…): siblings of the
    same name would otherwise be versions of one file, the later replacing the earlier."""
    name = sanitize_filename(filename) or "attachment"
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, dot, ext = name, "", ""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    taken.add(candidate.lower())
    return candidate


def parsed_metadata(doc: Document, parsed: ParsedDocument, plan: ChildPlan) -> dict[str, Any] | None:
    """The parent's metadata after parsing (its stored metadata, the loader's, the skipped attachments), or
    ``None`` when parsing adds nothing (formats without mail headers or attachments keep theirs as uploaded)."""
    if not parsed.attachments and not any(k.startswith("mail_") for k in parsed.metadata):
        return None
    out = {k: v for k, v in doc.metadata.items() if k != SKIPPED_KEY}
    out.update(parsed.metadata)
    if plan.skipped:
        out[SKIPPED_KEY] = plan.skipped
    return out


def create_children(store: DocumentStore, files: FileStore, children: list[tuple[Document, bytes]]) -> None:
    """Store the children's originals and queue them (``bulk``); one whose bytes already are a document of the
    collection is not stored twice."""
    if not children:
        return
    files.put_many([(d.id, data) for d, data in children])
    try:
        results = store.submit_documents([d for d, _ in children], replace_others=True, queue="bulk")
    except BaseException:
        for d, _ in children:
            files.delete(d.id)
        raise
    for (doc, _), (_stored, duplicate) in zip(children, results, strict=True):
        if duplicate:
            files.delete(doc.id)
