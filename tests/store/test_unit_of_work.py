"""Operations that span ports commit as one transaction (the backend's unit of work): when the audit entry cannot
be written, deleting a collection or a document leaves every row and every original file as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.backend import query

from ragd.auth.actor import LOCAL_ACTOR, LOCAL_TENANT
from ragd.config import Settings
from ragd.core import Ragd
from ragd.errors import ServiceUnavailable
from ragd.models import DocStatus


@pytest.fixture
def r(tmp_path: Path) -> Iterator[Ragd]:
    inst = Ragd(Settings(data_dir=tmp_path / "data", ingest={"workers": 0}))
    yield inst
    inst.close()


def _crash(*_a: Any, **_k: Any) -> None:
    raise ServiceUnavailable("the audit log failed (injected)")


def _counts(r: Ragd) -> dict[str, int]:
    """Rows per table, read over a connection of their own (SQLite or PostgreSQL: the run's store)."""
    tables = ("documents", "chunks", "collections", "collection_grants", "audit_log")
    return {t: int(query(r.settings.store_url, f"SELECT COUNT(*) FROM {t}")[0][0]) for t in tables}


def _team_with_documents(r: Ragd) -> list[str]:
    r.auth.create_user("reader@example.org", "a long enough passphrase 42", "user", LOCAL_TENANT)
    r.access.create(LOCAL_ACTOR, "team")
    r.access.share(LOCAL_ACTOR, "team", [{"principal_type": "user", "principal": "reader@example.org",
                                          "access": "read"}])
    subs = [r.submit(text.encode(), f"{i}.txt", collection="team", tenant_id=LOCAL_TENANT)[0]
            for i, text in enumerate(["The lighthouse keeper logs the tide.", "Boats leave the harbour at dawn."])]
    r.workers.drain()
    assert all(r.get_document(d.id).status is DocStatus.INDEXED for d in subs)
    return [d.id for d in subs]


def test_collection_delete_is_one_transaction(r: Ragd, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _team_with_documents(r)
    before = _counts(r)
    assert before["collection_grants"] == 1 and before["chunks"] >= 2
    monkeypatch.setattr(r.audit, "append", _crash)  # the last step of the operation fails
    with pytest.raises(ServiceUnavailable):
        r.delete_collection(LOCAL_ACTOR, "team")
    assert _counts(r) == before  # no document, chunk, grant or collection went
    assert all(r.files.get(i) is not None for i in ids)  # originals are removed only after the commit
    assert r.identities.get_collection(LOCAL_TENANT, "team") is not None
    assert r.query("lighthouse keeper", answer=False).retrieval.hits

    monkeypatch.undo()
    assert r.delete_collection(LOCAL_ACTOR, "team") == 2
    after = _counts(r)
    assert after["documents"] == after["chunks"] == after["collection_grants"] == 0
    assert after["audit_log"] == before["audit_log"] + 1
    assert all(r.files.get(i) is None for i in ids)
    assert not r.query("lighthouse keeper", answer=False).retrieval.hits


def test_document_delete_and_its_audit_entry_are_one_transaction(r: Ragd, monkeypatch: pytest.MonkeyPatch) -> None:
    doc_id = _team_with_documents(r)[0]
    before = _counts(r)
    monkeypatch.setattr(r.audit, "append", _crash)
    with pytest.raises(ServiceUnavailable):
        r.delete_document(LOCAL_ACTOR, doc_id)
    assert _counts(r) == before and r.files.get(doc_id) is not None
    assert r.get_document(doc_id).status is DocStatus.INDEXED

    monkeypatch.undo()
    r.delete_document(LOCAL_ACTOR, doc_id)
    after = _counts(r)
    assert after["documents"] == before["documents"] - 1 and after["audit_log"] == before["audit_log"] + 1
    assert r.store.get_document(doc_id) is None and r.files.get(doc_id) is None
