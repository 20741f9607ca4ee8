"""The tracker board: every open referral counted per queue and site, the overdue list,
and a drill-down from any count to the referrals (and so the patients) behind it.

The counts come from ``services.pathway.tracker.board``, the lists from
``web.queries_work.drill_down``: both filter one SQL statement,
``services.pathway.tracker_sql.placed``, so a count and its list always agree.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.errors import InvalidValue, Msg
from lysbord.domain.tracking import Queue
from lysbord.http.paging import Offset
from lysbord.services.pathway import tracker
from lysbord.services.pathway.referrals import QUEUES
from lysbord.services.pathway.tracker import UNASSIGNED
from lysbord.web import queries_work
from lysbord.web.auth import require
from lysbord.web.pages.shared import BOOKERS, CtxDep, R, missing
from lysbord.web.templating import render

router = APIRouter()

Watcher = Annotated[CurrentUser, Depends(require(*BOOKERS, R.manager))]
OVERDUE_SHOWN = 100


@router.get("/tracker", response_class=HTMLResponse)
def board(request: Request, ctx: CtxDep, user: Watcher) -> HTMLResponse:
    """Counts per queue and site, and the most overdue referrals."""
    found = tracker.board(ctx)
    return render(
        request,
        "tracker/board.html",
        board=found,
        queues=[q.value for q in Queue],
        overdue=found.overdue_list[:OVERDUE_SHOWN],
        unassigned=UNASSIGNED,
    )


@router.get("/tracker/list", response_class=HTMLResponse)
def listing(
    request: Request,
    ctx: CtxDep,
    user: Watcher,
    queue: str = "open",
    site: str = "",
    overdue: bool = False,
    offset: Offset = 0,
) -> Response:
    """The referrals behind one count of the board, most urgent deadline first."""
    if queue not in ("", "open", "none", *QUEUES):
        return missing(
            request, InvalidValue(Msg("not a queue"), field="queue", value=queue), "/tracker"
        )
    page, total = queries_work.drill_down(
        ctx,
        queue=None if queue in ("", "open") else queue,
        site=site or None,
        overdue=overdue,
        offset=offset,
    )
    return render(
        request,
        "tracker/list.html",
        referrals=page,
        total=total,
        offset=offset,
        page_size=queries_work.PAGE_SIZE,
        queue=queue,
        site=site,
        overdue=overdue,
    )
