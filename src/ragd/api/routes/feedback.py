"""Feedback on answers: ``POST /api/v1/feedback`` and, for administrators, ``GET /api/v1/admin/feedback``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ragd.api.deps import AdminActor, RagdDep
from ragd.api.problems import AUTH, BODY, problems
from ragd.api.routes.chat import UserDep
from ragd.api.schemas import Offset
from ragd.store.conversations import Feedback

router = APIRouter(prefix="/api/v1", tags=["feedback"])


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    query_id: str | None = Field(None, max_length=64, description="From a query response (or its done event).")
    message_id: str | None = Field(None, max_length=64, description="From a chat response (or its done event).")
    rating: Literal[1, -1] = Field(..., description="1 = helpful, -1 = not helpful.")
    comment: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _one_target(self) -> FeedbackRequest:
        if (self.query_id is None) == (self.message_id is None):
            raise ValueError("give exactly one of query_id and message_id")
        return self


class FeedbackOut(BaseModel):
    id: int
    user_id: str
    query_id: str | None
    message_id: str | None
    rating: int
    comment: str | None
    created_at: float

    @classmethod
    def of(cls, f: Feedback) -> FeedbackOut:
        return cls(id=f.id, user_id=f.user_id, query_id=f.query_id, message_id=f.message_id, rating=f.rating,
                   comment=f.comment, created_at=f.created_at)


class FeedbackList(BaseModel):
    feedback: list[FeedbackOut]
    total: int
    limit: int
    offset: int


@router.post("/feedback", response_model=FeedbackOut, status_code=201, responses=problems(*AUTH, *BODY, 404))
def add_feedback(ragd: RagdDep, user: UserDep, body: FeedbackRequest) -> FeedbackOut:
    fb = ragd.conversations.add_feedback(
        user, body.rating, body.comment, query_id=body.query_id, message_id=body.message_id
    )
    ragd.obs.metrics.feedback("up" if body.rating == 1 else "down")
    return FeedbackOut.of(fb)


@router.get("/admin/feedback", response_model=FeedbackList, responses=problems(*AUTH))
def list_feedback(
    ragd: RagdDep, actor: AdminActor, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> FeedbackList:
    """Feedback of every user of your tenant, newest first (admins)."""
    page, total = ragd.conversations.list_feedback(limit=limit, offset=offset,
                                                   user_ids=ragd.tenant_user_ids(actor.tenant_id))
    return FeedbackList(feedback=[FeedbackOut.of(f) for f in page], total=total, limit=limit, offset=offset)
