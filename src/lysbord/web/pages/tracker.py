"""The tracker board: every open referral counted per queue and site, the flags, the
overdue list, and from every count and flag the list of the referrals (and so the
patients) behind it, sorted by any column and paged.

The counts come from ``services.pathway.tracker.board``, the lists from
``web.queries_tracker.listing``: both filter one SQL statement,
``services.pathway.tracker_sql.placed``, so a count and its list always agree.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lysbord.domain.access import CurrentUser
from lysbord.domain.priorities import Priority
from lysbord.domain.tracking import Queue
from lysbord.http.paging import Offset
from lysbord.services.pathway import tracker
from lysbord.services.pathway.tracker import UNASSIGNED
from lysbord.web.auth import require
from lysbord.web.pages.shared import BOOKERS, CtxDep, R, tr
from lysbord.web.queries_tracker import FLAGS, PAGE_SIZES, SORTS, Choice, listing
from lysbord.web.templating import render

router = APIRouter()

Watcher = Annotated[CurrentUser, Depends(require(*BOOKERS, R.manager))]
OVERDUE_SHOWN = 100
#: What each of the list's query values may be ("" is "not filtered").
ALLOWED: dict[str, tuple[str, ...]] = {
    "queue": ("", "open", "none", *(q.value for q in Queue)),
    "flag": ("", *FLAGS),
    "priority": ("", *(p.value for p in Priority)),
    "sort": SORTS,
    "order": ("asc", "desc"),
    "size": tuple(str(n) for n in PAGE_SIZES),
}


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
def referral_list(
    request: Request,
    ctx: CtxDep,
    user: Watcher,
    queue: str = "open",
    site: str = "",
    flag: str = "",
    priority: str = "",
    sort: str = "due",
    order: str = "asc",
    size: str = str(PAGE_SIZES[1]),
    offset: Offset = 0,
    overdue: bool = False,
) -> HTMLResponse:
    """The referrals behind one count or flag of the board, in the order asked for
    (``overdue=true``, the address before flags, is ``flag=overdue``)."""
    flag = flag or ("overdue" if overdue else "")
    given = {"queue": queue, "flag": flag, "priority": priority, "sort": sort}
    given |= {"order": order, "size": size}
    shown: dict[str, Any] = {"queue": queue, "site": site, "flag": flag, "priority": priority}
    refused = _refusal(request, given)
    if refused:
        return render(
            request, "tracker/list.html", 422, error=refused, unassigned=UNASSIGNED, **shown
        )
    choice = Choice(
        queue=None if queue in ("", "open") else queue,
        site=site or None,
        flag=flag or None,
        priority=priority or None,
        sort=sort,
        descending=order == "desc",
        size=int(size),
        offset=offset,
    )
    rows, total = listing(ctx, choice)
    filters = {k: v for k, v in shown.items() if v and v != "open"}
    sort_base = f"/tracker/list?{urlencode(filters | {'size': size})}"
    return render(
        request,
        "tracker/list.html",
        error=None,
        rows=rows,
        total=total,
        choice=choice,
        unassigned=UNASSIGNED,
        sizes=PAGE_SIZES,
        kept=filters | {"sort": sort, "order": order},  # what the page-size form keeps
        sort_base=sort_base,
        page_base=f"{sort_base}&{urlencode({'sort': sort, 'order': order})}",
        **shown,
    )


def _refusal(request: Request, given: dict[str, str]) -> str | None:
    """The first value the list does not know, said in Danish with what it may be."""
    for field, value in given.items():
        if value not in ALLOWED[field]:
            return tr(
                request,
                "tracker.bad_value",
                field=tr(request, f"tracker.field_{field}"),
                value=value,
                options=", ".join(o for o in ALLOWED[field] if o),
            )
    return None
