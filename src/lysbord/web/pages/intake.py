"""A referral typed in by a booking clerk: the paper or telephoned referral that no
interface delivered. It goes through the same intake as the API and HL7 (deadline from
priority and time received, accession numbers), then straight to booking its first
procedure: "one click to book" from the moment it exists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.errors import LysbordError
from lysbord.domain.priorities import Priority
from lysbord.services.operations.region import list_procedure_codes, list_sites
from lysbord.services.pathway import referrals
from lysbord.web.auth import CsrfForm, require
from lysbord.web.pages.shared import (
    BOOKERS,
    CtxDep,
    field_errors,
    optional_day,
    parse_priority,
    redirect,
    tr,
)
from lysbord.web.templating import render

router = APIRouter()
Clerk = Annotated[CurrentUser, Depends(require(*BOOKERS))]
#: Screening invitations come from the screening programme, not from a typed referral.
TYPED_PRIORITIES = tuple(p for p in Priority if p is not Priority.SCREENING)
EMPTY: dict[str, object] = {"priority": Priority.ROUTINE.value, "procedures": []}


def _form(
    request: Request,
    ctx: CtxDep,
    typed: dict[str, object],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    codes = sorted(list_procedure_codes(ctx), key=lambda c: (c.modality, c.name))
    return render(
        request,
        "referrals/new.html",
        status_code,
        typed=typed,
        errors=errors or {},
        priorities=[(p.value, tr(request, f"priority.{p.value}")) for p in TYPED_PRIORITIES],
        sites=[("", tr(request, "intake.no_preference"))]
        + [(s.code, s.name) for s in list_sites(ctx)],
        codes=[(c.code, f"{c.modality} · {c.name} ({c.code})") for c in codes],
    )


@router.get("/referrals/new", response_class=HTMLResponse)
def new(request: Request, ctx: CtxDep, user: Clerk, cpr: str = "") -> HTMLResponse:
    """The empty form (the CPR filled in when coming from a patient's page)."""
    return _form(request, ctx, EMPTY | {"cpr": cpr})


@router.post("/referrals/new", response_class=HTMLResponse)
def create(
    request: Request,
    ctx: CtxDep,
    user: Clerk,
    _csrf: CsrfForm,
    cpr: Annotated[str, Form(max_length=40)] = "",
    referring_unit: Annotated[str, Form(max_length=200)] = "",
    clinical_question: Annotated[str, Form(max_length=2000)] = "",
    priority: Annotated[str, Form(max_length=40)] = "",
    procedures: Annotated[list[str] | None, Form()] = None,
    preferred_site: Annotated[str, Form(max_length=40)] = "",
    requested_date: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Receive the referral; on to booking its first procedure."""
    typed: dict[str, object] = {
        "cpr": cpr,
        "referring_unit": referring_unit,
        "clinical_question": clinical_question,
        "priority": priority,
        "procedures": procedures or [],
        "preferred_site": preferred_site,
        "requested_date": requested_date,
    }
    try:
        cmd = referrals.NewReferral(
            cpr=cpr,
            referring_unit=referring_unit,
            clinical_question=clinical_question,
            priority=parse_priority(priority, TYPED_PRIORITIES),
            procedures=procedures or [],
            requested_date=optional_day(requested_date, "requested_date"),
            preferred_site=preferred_site or None,
        )
        view = referrals.create_referral(ctx, cmd, user.username)
    except LysbordError as exc:
        # The API names the list item (procedures[1]); the form has one field for them all.
        errors = {k.split("[")[0]: v for k, v in field_errors(request, exc, "cpr").items()}
        return _form(request, ctx, typed, errors, 422)
    return redirect(f"/booking/{view.procedures[0].accession}", "intake.received")
