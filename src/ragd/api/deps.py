"""Named dependencies keep routes short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ragd.core import Ragd


def _ragd(request: Request) -> Ragd:
    return request.app.state.ragd


RagdDep = Annotated[Ragd, Depends(_ragd)]
