"""The rooms: the radiographers' day list (arrive / no-show) and the day and week calendar.

A room is named by its scanner's AE title in the address (``/rooms/AAACT1``): unique in
the region and the name the worklist uses. The day list's states move with MPPS from
the scanner (in progress, completed); the buttons here are the front desk's part.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.calendar import local_date
from lysbord.domain.errors import LysbordError, NotFound
from lysbord.services.pathway import procedures
from lysbord.services.pathway.procedures import Action
from lysbord.web.auth import CsrfForm, require
from lysbord.web.pages.shared import BOOKERS, CtxDep, R, error_text, parse_day, redirect
from lysbord.web.queries_rooms import calendar, day_list, room_by_ae, rooms
from lysbord.web.templating import render

router = APIRouter()

Radiographer = Annotated[CurrentUser, Depends(require(R.radiographer))]
#: Booking staff look at a room's day and week too; only radiographers act on the day list.
RoomReader = Annotated[CurrentUser, Depends(require(R.radiographer, *BOOKERS))]
#: What the front desk does from the day list; the scanner reports the rest by MPPS.
DESK_ACTIONS = {"arrive": Action.ARRIVE, "no-show": Action.NO_SHOW}
VIEWS = {"day": 1, "week": 7}


@router.get("/rooms", response_class=HTMLResponse)
def index(request: Request, ctx: CtxDep, user: Radiographer) -> HTMLResponse:
    """Every room of the region, each with a link to today's list."""
    return render(request, "rooms/index.html", rooms=rooms(ctx), error=None)


def _not_found(request: Request, ctx: CtxDep, exc: LysbordError) -> HTMLResponse:
    """An unknown room or a malformed day: the room list, with what was wrong."""
    status = 404 if isinstance(exc, NotFound) else 422
    return render(
        request, "rooms/index.html", status, rooms=rooms(ctx), error=error_text(request, exc)
    )


@router.get("/rooms/{ae_title}", response_class=HTMLResponse)
def day(
    request: Request, ctx: CtxDep, user: RoomReader, ae_title: str, day: str = ""
) -> HTMLResponse:
    """The room's booked procedures on one day: what the scanner's worklist serves."""
    try:
        return _day(request, ctx, ae_title, day, may_act=user.may(R.radiographer))
    except LysbordError as exc:
        return _not_found(request, ctx, exc)


def _day(
    request: Request,
    ctx: CtxDep,
    ae_title: str,
    day_text: str,
    error: str | None = None,
    status_code: int = 200,
    *,
    may_act: bool = True,
) -> HTMLResponse:
    room = room_by_ae(ctx, ae_title)
    on = parse_day(day_text, local_date(ctx.now()))
    return render(
        request,
        "rooms/day.html",
        status_code,
        room=room,
        day=on,
        items=day_list(ctx, room.id, on),
        previous=(on - timedelta(days=1)).isoformat(),
        next=(on + timedelta(days=1)).isoformat(),
        error=error,
        may_act=may_act,
    )


@router.post("/rooms/{ae_title}/{accession}/{action}", response_class=HTMLResponse)
def act(
    request: Request,
    ctx: CtxDep,
    user: Radiographer,
    _csrf: CsrfForm,
    ae_title: str,
    accession: str,
    action: str,
    day: Annotated[str, Form()] = "",
) -> Response:
    """Arrived or no-show, as the front desk sees it; the list shows the new state."""
    if action not in DESK_ACTIONS:
        return _day(request, ctx, ae_title, day, error=action, status_code=404)
    try:
        procedures.apply(ctx, accession, DESK_ACTIONS[action], user.username)
    except LysbordError as exc:
        return _day(request, ctx, ae_title, day, error_text(request, exc), status_code=409)
    return redirect(f"/rooms/{ae_title}?day={day}", f"rooms.done_{action}")


@router.get("/rooms/{ae_title}/calendar", response_class=HTMLResponse)
def room_calendar(
    request: Request,
    ctx: CtxDep,
    user: RoomReader,
    ae_title: str,
    day: str = "",
    view: str = "week",
) -> HTMLResponse:
    """The room's slots, free, booked or blocked, for a day or a week (from Monday)."""
    try:
        room = room_by_ae(ctx, ae_title)
        on = parse_day(day, local_date(ctx.now()))
    except LysbordError as exc:
        return _not_found(request, ctx, exc)
    days = VIEWS.get(view, 7)
    first = on if days == 1 else on - timedelta(days=on.weekday())
    step = timedelta(days=days)
    return render(
        request,
        "rooms/calendar.html",
        room=room,
        view="day" if days == 1 else "week",
        first=first,
        grid=calendar(ctx, room.id, first, days),
        previous=(first - step).isoformat(),
        next=(first + step).isoformat(),
        may_book=user.may(*BOOKERS),
    )
