"""Acute findings: the signed reports marked acute, for the people who tell the referring unit.

Radiologists mark them; booking staff and managers work through the list (newest first,
by referring unit) so no acute finding waits in a report nobody has opened.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lysbord.domain.access import CurrentUser
from lysbord.http.paging import Offset
from lysbord.services.pathway.acute import PAGE_SIZE, acute_findings, referring_units
from lysbord.web.auth import require
from lysbord.web.pages.shared import BOOKERS, CtxDep, R
from lysbord.web.templating import render

router = APIRouter()

#: Who sees the acute findings: the radiologists who mark them, and who passes them on.
ACUTE_READERS = (R.radiologist, R.manager, *BOOKERS)
Reader = Annotated[CurrentUser, Depends(require(*ACUTE_READERS))]


@router.get("/acute", response_class=HTMLResponse)
def index(
    request: Request, ctx: CtxDep, user: Reader, unit: str = "", offset: Offset = 0
) -> HTMLResponse:
    """One page of acute findings, newest first, for one referring unit or all."""
    items, total = acute_findings(ctx, unit=unit or None, offset=offset)
    return render(
        request,
        "acute/list.html",
        items=items,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        unit=unit,
        units=referring_units(ctx),
    )
