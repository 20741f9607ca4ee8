"""Performed procedure steps the scanners reported that no procedure claims."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lysbord.api.schemas import Page
from lysbord.http.context import ContextDep
from lysbord.http.deps import RadiographerReader
from lysbord.http.paging import Offset
from lysbord.services.pathway import mpps_queue
from lysbord.services.pathway.mpps_queue import UnmatchedStep

router = APIRouter(prefix="/mpps", tags=["mpps"])


@router.get("/unmatched")
def list_unmatched(
    ctx: ContextDep,
    user: RadiographerReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[UnmatchedStep]:
    """MPPS naming a scheduled step no procedure claims, oldest first, each with the reason."""
    items, total = mpps_queue.unmatched_steps(ctx, limit, offset)
    return Page(items=items, total=total, limit=limit, offset=offset)
