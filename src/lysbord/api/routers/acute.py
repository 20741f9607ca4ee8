"""Acute findings: the signed reports marked acute, newest first, for a referring unit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lysbord.api.schemas import Page
from lysbord.http.context import ContextDep
from lysbord.http.paging import Offset
from lysbord.services.pathway.acute import PAGE_SIZE, AcuteFinding, acute_findings

router = APIRouter(tags=["reports"])


@router.get("/acute-findings")
def list_acute_findings(
    ctx: ContextDep,
    unit: Annotated[str | None, Query(max_length=200, description="The referring unit")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[AcuteFinding]:
    """Signed reports with an acute finding (the latest signed version of each procedure)."""
    items, total = acute_findings(ctx, unit=unit, offset=offset, limit=limit)
    return Page(items=items, total=total, limit=limit, offset=offset)
