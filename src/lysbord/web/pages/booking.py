"""Booking: free slots across the region for one procedure; book, rebook, cancel with reason.

Offers come from ``services.pathway.booking.find_slots`` (within the deadline first, the
patient's preferred site first among those, earliest first). A slot someone else took
meanwhile is refused by the database and shown beside the slot choice, with fresh offers.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.calendar import start_of_local_day
from lysbord.domain.errors import Conflict, LysbordError, NotFound
from lysbord.services.operations.region import list_sites
from lysbord.services.pathway import booking, procedures
from lysbord.web.auth import CsrfForm, require
from lysbord.web.pages.shared import (
    BOOKERS,
    CtxDep,
    error_text,
    field_errors,
    iso_day,
    optional_day,
    redirect,
    tr,
)
from lysbord.web.queries_rooms import rooms
from lysbord.web.templating import render

router = APIRouter()

Booker = Annotated[CurrentUser, Depends(require(*BOOKERS))]
#: States from which a procedure can be given a (new) time.
BOOKABLE = ("requested", "no-show", "booked", "arrived")
OFFERS = 20


@router.get("/booking", response_class=HTMLResponse)
def start(request: Request, ctx: CtxDep, user: Booker, accession: str = "") -> Response:
    """Find a procedure to book by its accession number; the rooms' calendars."""
    if accession.strip():
        return redirect(f"/booking/{accession.strip().upper()}")
    return render(request, "booking/start.html", rooms=rooms(ctx), accession="", errors={})


def _page(
    request: Request,
    ctx: CtxDep,
    accession: str,
    *,
    site: str = "",
    day: date | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    detail = procedures.get_procedure(ctx, accession)
    offers: list[booking.SlotOffer] = []
    errors = dict(errors or {})
    if detail.procedure.state in BOOKABLE:
        search = booking.SlotSearch(
            accession,
            [site] if site else None,
            start_of_local_day(day) if day else None,
            limit=OFFERS,
        )
        try:
            offers = booking.find_slots(ctx, search)
        except LysbordError as exc:
            errors.update(field_errors(request, exc, "site"))
    return render(
        request,
        "booking/procedure.html",
        status_code,
        detail=detail,
        offers=offers,
        bookable=detail.procedure.state in BOOKABLE,
        site=site,
        day=day.isoformat() if day else "",
        sites=[(s.code, s.name) for s in list_sites(ctx)],
        errors=errors,
        typed=typed or {},
        iso_day=iso_day,
    )


@router.get("/booking/{accession}", response_class=HTMLResponse)
def procedure(
    request: Request, ctx: CtxDep, user: Booker, accession: str, site: str = "", day: str = ""
) -> HTMLResponse:
    """The procedure, its current time, and the earliest free slots that fit it."""
    try:
        start_day = optional_day(day, "day")
    except LysbordError as exc:
        errors = field_errors(request, exc, "day")
        return _page(request, ctx, accession, site=site, errors=errors, status_code=422)
    try:
        return _page(request, ctx, accession, site=site, day=start_day)
    except NotFound as exc:
        errors = {"accession": error_text(request, exc)}
        return render(
            request, "booking/start.html", 404, rooms=rooms(ctx), accession=accession, errors=errors
        )


@router.post("/booking/{accession}", response_class=HTMLResponse)
def book(
    request: Request,
    ctx: CtxDep,
    user: Booker,
    _csrf: CsrfForm,
    accession: str,
    slot_id: Annotated[int | None, Form()] = None,
) -> Response:
    """Book (or rebook) into the chosen slot; a taken slot is shown beside the choice."""
    try:
        if slot_id is None:
            return _page(
                request,
                ctx,
                accession,
                errors={"slot_id": tr(request, "booking.choose_slot")},
                status_code=422,
            )
        booking.book(ctx, accession, slot_id, user.username)
    except LysbordError as exc:
        errors = field_errors(request, exc, "slot_id")
        status = 409 if isinstance(exc, Conflict) else 422
        return _page(request, ctx, accession, errors=errors, status_code=status)
    return redirect(f"/booking/{accession}", "booking.booked")


@router.post("/booking/{accession}/cancel", response_class=HTMLResponse)
def cancel(
    request: Request,
    ctx: CtxDep,
    user: Booker,
    _csrf: CsrfForm,
    accession: str,
    appointment_id: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Cancel the time with a reason; the procedure goes back to awaiting booking."""
    try:
        booking.cancel_appointment(ctx, appointment_id, reason, user.username)
    except LysbordError as exc:
        errors = field_errors(request, exc, "reason")
        return _page(
            request, ctx, accession, errors=errors, typed={"reason": reason}, status_code=422
        )
    return redirect(f"/booking/{accession}", "booking.cancelled")
