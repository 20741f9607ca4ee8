"""The rooms: the radiographers' day list, where they run the examination, and the calendar.

A room is named by its scanner's AE title in the address (``/rooms/AAACT1``): unique in
the region and the name the worklist uses. The day list runs the examination by hand
(arrive, no-show, start, complete, discontinue, technical repeat) through the same use
cases MPPS from the scanner drives (``services.pathway.examination``), so the two agree
whichever comes first; it shows what the scanner has sent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.calendar import local_date
from lysbord.domain.errors import Conflict, IllegalTransition, LysbordError, NotFound
from lysbord.services.pathway import examination, procedures, roster
from lysbord.services.pathway.procedures import Action
from lysbord.web.auth import CsrfForm, require
from lysbord.web.pages.shared import BOOKERS, CtxDep, R, error_text, parse_day, redirect, tr
from lysbord.web.queries_rooms import calendar, day_list, room_by_ae, rooms
from lysbord.web.templating import render

router = APIRouter()

Radiographer = Annotated[CurrentUser, Depends(require(R.radiographer))]
#: Booking staff look at a room's day and week too; only radiographers act on the day list.
RoomReader = Annotated[CurrentUser, Depends(require(R.radiographer, *BOOKERS))]
#: The day list's actions that are a procedure action and nothing more.
PLAIN_ACTIONS = {"arrive": Action.ARRIVE, "no-show": Action.NO_SHOW}
#: The actions a person must give a reason for (the services refuse them without).
REASONED = ("discontinue", "repeat")
#: A start needs a reason only from someone off the day's roster (``services.pathway.roster``).
ACTIONS = (*PLAIN_ACTIONS, "start", "complete", *REASONED)
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
        return _day(request, ctx, ae_title, day, user=user)
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
    user: CurrentUser,
) -> HTMLResponse:
    room = room_by_ae(ctx, ae_title)
    on = parse_day(day_text, local_date(ctx.now()))
    may_act = user.may(R.radiographer)
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
        off_roster=roster.off_roster_on(ctx, room.id, on, user.username) if may_act else None,
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
    reason: Annotated[str, Form()] = "",
    images: Annotated[str, Form()] = "",
) -> Response:
    """One step of the examination; the list shows the new state, or why not, in its row."""
    if action not in ACTIONS:
        return _day(request, ctx, ae_title, day, action, 404, user=user)
    if action in REASONED and not reason.strip():
        return _day(request, ctx, ae_title, day, tr(request, "rooms.reason_needed"), 422, user=user)
    expected = _images(images)
    if images.strip() and expected is None:
        said = tr(request, "rooms.images_invalid")
        return _day(request, ctx, ae_title, day, said, 422, user=user)
    try:
        _perform(ctx, accession, action, user.username, reason, expected)
    except LysbordError as exc:
        return _day(request, ctx, ae_title, day, _refusal(request, action, exc), 409, user=user)
    return redirect(f"/rooms/{ae_title}?day={day}", f"rooms.done_{action}")


def _refusal(request: Request, action: str, exc: LysbordError) -> str:
    """Why the step was refused, in the page's language: the room's own words where it has them."""
    if action == "repeat" and isinstance(exc, IllegalTransition):
        return tr(request, "rooms.repeat_not_started")
    if action == "start" and isinstance(exc, Conflict) and exc.field == "reason":
        return tr(request, "rooms.off_roster_reason")
    return error_text(request, exc)


def _perform(
    ctx: CtxDep, accession: str, action: str, actor: str, reason: str, images: int | None
) -> None:
    if action == "start":
        examination.start(ctx, accession, actor, reason)
    elif action == "complete":
        examination.complete(ctx, accession, actor, images)
    elif action == "discontinue":
        procedures.apply(ctx, accession, Action.DISCONTINUE, actor, reason.strip())
    elif action == "repeat":
        examination.repeat(ctx, accession, reason, actor)
    else:
        procedures.apply(ctx, accession, PLAIN_ACTIONS[action], actor)


def _images(typed: str) -> int | None:
    """The number of images typed at completion; None when empty (they follow) or no count."""
    text = typed.strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= examination.MAX_IMAGES:
        return int(text)
    return None


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
