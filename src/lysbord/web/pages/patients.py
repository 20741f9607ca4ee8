"""Patient search (CPR or name), registration, and the patient's page.

The page shows everything the region knows about the person: every number they had
and every merge, every referral with its full event timeline, and the studies from
every site with a link to the viewer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.errors import InvalidValue, LysbordError, NotFound
from lysbord.services.operations.region import list_sites
from lysbord.services.people import registration
from lysbord.web.auth import CsrfForm, require
from lysbord.web.pages.shared import (
    BOOKERS,
    PATIENT_READERS,
    TRIAGERS,
    CtxDep,
    error_text,
    field_errors,
    redirect,
    tr,
)
from lysbord.web.queries_patients import MAX_WORDS, PatientHit, patient_page, search_patients
from lysbord.web.templating import render

router = APIRouter()

Reader = Annotated[CurrentUser, Depends(require(*PATIENT_READERS))]
Registrar = Annotated[CurrentUser, Depends(require(*BOOKERS))]


def _search(
    request: Request,
    ctx: CtxDep,
    q: str = "",
    errors: dict[str, str] | None = None,
    new: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    hits: list[PatientHit] = []
    if q.strip() and not errors:
        try:
            hits = search_patients(ctx, q)
        except InvalidValue:
            errors, status_code = {"q": tr(request, "patients.too_many_words", n=MAX_WORDS)}, 422
    return render(
        request,
        "patients/search.html",
        status_code,
        q=q,
        hits=hits,
        searched=bool(q.strip()),
        errors=errors or {},
        new=new or {},
        sites=[(s.code, s.name) for s in list_sites(ctx)],
    )


@router.get("/patients", response_class=HTMLResponse)
def search(request: Request, ctx: CtxDep, user: Reader, q: str = "") -> HTMLResponse:
    """Find a patient by any number they ever had, or by name."""
    return _search(request, ctx, q)


@router.post("/patients", response_class=HTMLResponse)
def register(
    request: Request,
    ctx: CtxDep,
    user: Registrar,
    _csrf: CsrfForm,
    cpr: Annotated[str, Form()] = "",
    family_name: Annotated[str, Form()] = "",
    given_name: Annotated[str, Form()] = "",
    preferred_site: Annotated[str, Form()] = "",
) -> Response:
    """Register a patient; a bad CPR is shown beside the field with what was typed."""
    typed = {
        "cpr": cpr,
        "family_name": family_name,
        "given_name": given_name,
        "preferred_site": preferred_site,
    }
    cmd = registration.NewPatient(cpr, family_name, given_name, preferred_site or None)
    try:
        view = registration.register_patient(ctx, cmd, user.username)
    except LysbordError as exc:
        return _search(
            request, ctx, errors=field_errors(request, exc, "cpr"), new=typed, status_code=422
        )
    return redirect(f"/patients/{view.cpr}", "patients.registered")


@router.get("/patients/{cpr}", response_class=HTMLResponse)
def patient(request: Request, ctx: CtxDep, user: Reader, cpr: str) -> HTMLResponse:
    """One patient: identifiers, merges, referrals with their timelines, studies."""
    try:
        page = patient_page(ctx, cpr)
    except NotFound as exc:
        return _search(request, ctx, cpr, errors={"q": error_text(request, exc)}, status_code=404)
    return render(
        request,
        "patients/page.html",
        page=page,
        may_book=user.may(*BOOKERS),
        may_triage=user.may(*TRIAGERS),
    )
