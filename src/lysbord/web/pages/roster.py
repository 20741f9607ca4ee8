"""The room roster for the administrator: a week of who works which room, add and remove.

The room screen warns a radiographer who starts an examination on a room they are not
rostered on that day, and asks for a reason (``services.pathway.roster``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date
from lysbord.domain.errors import Conflict, InvalidValue, LysbordError, Msg
from lysbord.services.pathway import roster
from lysbord.services.people.users import list_users
from lysbord.web.auth import CsrfForm, CurrentUser, require
from lysbord.web.pages.shared import CtxDep, error_text, optional_day, redirect, tr
from lysbord.web.queries_rooms import rooms
from lysbord.web.templating import render

router = APIRouter(prefix="/roster")
AdminDep = Annotated[CurrentUser, Depends(require(Role.admin))]
DAYS = 7


def _page(
    request: Request,
    ctx: CtxDep,
    day_text: str,
    status_code: int = 200,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    errors = dict(errors or {})
    today = local_date(ctx.now())
    try:
        first = optional_day(day_text, "week") or today
    except LysbordError as exc:
        errors["week"], first, status_code = error_text(request, exc), today, 422
    first -= timedelta(days=first.weekday())
    entries = roster.list_roster(ctx, first, DAYS)
    days = [first + timedelta(days=i) for i in range(DAYS)]
    radiographers = [
        (u.username, f"{u.display_name} ({u.username})")
        for u in list_users(ctx)
        if u.active and Role.radiographer in u.roles
    ]
    return render(
        request,
        "admin/roster.html",
        status_code,
        days=[(d, [e for e in entries if e.day == d]) for d in days],
        previous=(first - timedelta(days=DAYS)).isoformat(),
        next=(first + timedelta(days=DAYS)).isoformat(),
        week=first.isoformat(),
        rooms=[(r.ae_title, f"{r.site_code} · {r.name} ({r.ae_title})") for r in rooms(ctx)],
        radiographers=radiographers,
        typed=typed or {"day": today.isoformat(), "room": "", "username": ""},
        errors=errors,
    )


@router.get("", response_class=HTMLResponse)
def index(request: Request, ctx: CtxDep, admin: AdminDep, week: str = "") -> HTMLResponse:
    """The week (from Monday) holding ``week``, or this week."""
    return _page(request, ctx, week)


@router.post("", response_class=HTMLResponse)
def add(
    request: Request,
    ctx: CtxDep,
    admin: AdminDep,
    _csrf: CsrfForm,
    day: Annotated[str, Form(max_length=10)] = "",
    room: Annotated[str, Form(max_length=16)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Roster a radiographer on a room for a day."""
    typed = {"day": day, "room": room, "username": username}
    try:
        on = optional_day(day, "day")
        if on is None:
            raise InvalidValue(Msg("a day is needed"), field="day")
        roster.add_to_roster(ctx, room, on, username, admin.username)
    except LysbordError as exc:
        return _page(request, ctx, day, 422, typed=typed, errors=_errors(request, exc, username))
    return redirect(f"/roster?week={on.isoformat()}", "roster.added")


def _errors(request: Request, exc: LysbordError, username: str) -> dict[str, str]:
    """The refusal beside its field, in the page's language."""
    field = exc.field or "day"
    if isinstance(exc, Conflict):
        return {field: tr(request, "roster.already", username=username)}
    key = {"day": "roster.day_invalid", "room": "roster.unknown_room"}
    return {field: tr(request, key.get(field, "roster.not_radiographer"))}


@router.post("/{entry_id}/remove", response_class=HTMLResponse)
def remove(
    request: Request,
    ctx: CtxDep,
    admin: AdminDep,
    _csrf: CsrfForm,
    entry_id: int,
    week: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Take one entry off the roster."""
    try:
        roster.remove_from_roster(ctx, entry_id, admin.username)
    except LysbordError as exc:
        return _page(request, ctx, week, 404, errors={"entry": error_text(request, exc)})
    return redirect(f"/roster?week={week}", "roster.removed")
