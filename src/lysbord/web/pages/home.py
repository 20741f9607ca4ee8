"""The start page: each role's own work first, every count a link to the list behind it.

The clerk sees the referrals awaiting booking and the next deadlines; the radiographer
today's rooms (theirs first); the radiologist the cases awaiting report by priority; the
screening coordinator and the manager what is overdue; the administrator the users. A
person with several roles sees each role's part. Read models: ``web.queries_home``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lysbord.web import queries_home
from lysbord.web.auth import UserDep
from lysbord.web.pages.shared import CtxDep, R
from lysbord.web.templating import render

router = APIRouter(include_in_schema=False)

#: Who is shown the overdue counts of the tracker.
WATCHERS = frozenset({R.screening_coordinator, R.manager})


@router.get("/")
def home(request: Request, ctx: CtxDep, user: UserDep) -> HTMLResponse:
    roles = user.roles
    return render(
        request,
        "home.html",
        booking=queries_home.awaiting_booking(ctx) if R.booking_clerk in roles else None,
        rooms=queries_home.rooms_today(ctx, user.username) if R.radiographer in roles else None,
        reading=queries_home.awaiting_report(ctx) if R.radiologist in roles else None,
        overdue=queries_home.overdue_counts(ctx) if roles & WATCHERS else None,
        users=queries_home.user_counts(ctx) if R.admin in roles else None,
    )
