"""``POST /api/v1/admin/eval``: score retrieval on your own documents with your own judged questions.

The same metrics as ``ragd eval`` (nDCG@10, Recall@10/100, MRR@10, MAP, latency), computed over documents the
caller may read (a tenant admin: their tenant), optionally one collection. Judgments name documents by id or by
file name.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ragd.api.deps import AdminActor, RagdDep
from ragd.api.problems import AUTH, BODY, problems
from ragd.errors import BadRequest
from ragd.evaluation.runner import score_queries
from ragd.models import SearchFilters

router = APIRouter(prefix="/api/v1/admin", tags=["evaluation"])


class JudgedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str | None = Field(None, max_length=200, description="Your id for the question (default: its position).")
    query: str = Field(..., min_length=1, max_length=2000)
    relevant: dict[str, int] = Field(
        ..., min_length=1, description="Document id or file name → relevance grade (> 0 is relevant)."
    )


class EvalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    queries: list[JudgedQuery] = Field(..., min_length=1, max_length=2000)
    collection: str | None = Field(None, max_length=200, description="Only this collection.")
    modes: list[Literal["bm25", "dense", "hybrid"]] = Field(default_factory=lambda: ["hybrid"], min_length=1)
    top_k: int = Field(100, ge=10, le=1000)


@router.post("/eval", responses=problems(*AUTH, *BODY))
def evaluate(ragd: RagdDep, actor: AdminActor, body: EvalRequest) -> dict[str, Any]:
    """Run every question through the normal retrieval path and score it against the judgments."""
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for n, q in enumerate(body.queries, start=1):
        qid = q.id or str(n)
        if qid in queries:
            raise BadRequest(f"question id {qid!r} appears twice")
        queries[qid], qrels[qid] = q.query, dict(q.relevant)
    refs = {ref for rel in qrels.values() for ref in rel}
    base = SearchFilters(collections=[body.collection]) if body.collection else None
    filters = ragd.access.filters(actor, base)
    scope = ragd.access.scope(actor)
    ids: dict[str, str] = {}
    offset = 0
    while True:  # label each readable document the way the judgments name it (id, else file name)
        docs, _ = ragd.store.list_documents(tenant_id=scope.tenant_id, readable=scope.readable,
                                            collection=body.collection, limit=500, offset=offset)
        if not docs:
            break
        for d in docs:
            ids[d.id] = d.id if d.id in refs else d.filename
        offset += len(docs)
    unknown = sorted(refs - set(ids) - set(ids.values()))
    results = [score_queries(ragd, queries, qrels, mode=m, top_k=body.top_k, filters=filters, ids=ids)
               for m in body.modes]
    return {"results": results, "documents": len(ids), "unknown_judgments": unknown[:100]}
