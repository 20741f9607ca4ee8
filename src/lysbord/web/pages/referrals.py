"""The referral inbox (new referrals by priority and deadline) and triage.

Triage changes a referral's priority with a reason; the deadline is recomputed from
when the referral was received (``services.pathway.triage``). Booking is one click away.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.errors import LysbordError
from lysbord.domain.priorities import Priority
from lysbord.http.paging import Offset
from lysbord.services.operations.region import list_sites
from lysbord.services.pathway import referral_queries, triage
from lysbord.web.auth import CsrfForm, require
from lysbord.web.pages.shared import (
    BOOKERS,
    TRIAGERS,
    CtxDep,
    field_errors,
    missing,
    optional_day,
    parse_priority,
    redirect,
    tr,
)
from lysbord.web.queries_work import PAGE_SIZE, inbox
from lysbord.web.templating import render

router = APIRouter()

Clerk = Annotated[CurrentUser, Depends(require(*BOOKERS))]
Triager = Annotated[CurrentUser, Depends(require(*TRIAGERS))]


@router.get("/referrals", response_class=HTMLResponse)
def index(
    request: Request,
    ctx: CtxDep,
    user: Clerk,
    priority: str = "",
    site: str = "",
    offset: Offset = 0,
) -> HTMLResponse:
    """Open referrals with a procedure awaiting booking: most urgent, soonest due first."""
    page, total = inbox(ctx, priority=priority or None, site=site or None, offset=offset)
    return render(
        request,
        "referrals/inbox.html",
        referrals=page,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        priority=priority,
        site=site,
        priorities=[(p.value, tr(request, f"priority.{p.value}")) for p in Priority],
        sites=[(s.code, s.name) for s in list_sites(ctx)],
        may_triage=user.may(*TRIAGERS),
    )


def _form(
    request: Request,
    ctx: CtxDep,
    referral_id: int,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    referral = referral_queries.get_referral(ctx, referral_id)
    return render(
        request,
        "referrals/triage.html",
        status_code,
        referral=referral,
        typed=typed or {"priority": referral.priority},
        errors=errors or {},
        priorities=[
            (p.value, tr(request, f"priority.{p.value}")) for p in triage.TRIAGE_PRIORITIES
        ],
    )


@router.get("/referrals/{referral_id}/triage", response_class=HTMLResponse)
def triage_form(request: Request, ctx: CtxDep, user: Triager, referral_id: int) -> Response:
    """The referral with a form to set its priority (and so its deadline)."""
    try:
        return _form(request, ctx, referral_id)
    except LysbordError as exc:
        return missing(request, exc, "/referrals")


@router.post("/referrals/{referral_id}/triage", response_class=HTMLResponse)
def triage_save(
    request: Request,
    ctx: CtxDep,
    user: Triager,
    _csrf: CsrfForm,
    referral_id: int,
    priority: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    requested_date: Annotated[str, Form()] = "",
) -> Response:
    """Set the priority with a reason; the deadline follows from when it was received."""
    typed = {"priority": priority, "reason": reason, "requested_date": requested_date}
    try:
        day = optional_day(requested_date, "requested_date")
        cmd = triage.Triage(parse_priority(priority), reason, day)
        triage.triage(ctx, referral_id, cmd, user.username)
    except LysbordError as exc:
        errors = field_errors(request, exc, "priority")
        return _form(request, ctx, referral_id, typed, errors, status_code=422)
    return redirect("/referrals", "referrals.triaged")
