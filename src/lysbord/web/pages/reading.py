"""The radiologists' reading worklist, the report editor and signing.

Every save is a new report version (``services.pathway.reports``): a preliminary one keeps the
procedure waiting; signing writes the final version and reports the procedure, which
also puts the result message in the outbox. Nothing typed is lost on an error.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.errors import IllegalTransition, LysbordError
from lysbord.http.paging import Offset
from lysbord.services.pathway import procedures, reports
from lysbord.web.auth import CsrfForm, require
from lysbord.web.pages.shared import CtxDep, R, field_errors, missing, redirect, tr
from lysbord.web.queries_work import PAGE_SIZE, reading_list
from lysbord.web.templating import render

router = APIRouter()

Radiologist = Annotated[CurrentUser, Depends(require(R.radiologist))]
MODALITIES = ("CT", "MR", "DX", "CR", "US", "MG")


@router.get("/reading", response_class=HTMLResponse)
def index(
    request: Request, ctx: CtxDep, user: Radiologist, modality: str = "", offset: Offset = 0
) -> HTMLResponse:
    """Performed procedures awaiting a report: most urgent, soonest due first."""
    items, total = reading_list(ctx, modality=modality or None, offset=offset)
    return render(
        request,
        "reading/list.html",
        items=items,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        modality=modality,
        modalities=MODALITIES,
    )


def _editor(
    request: Request,
    ctx: CtxDep,
    accession: str,
    text: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    *,
    acute: bool = False,
    addendum: str = "",
) -> HTMLResponse:
    detail = procedures.get_procedure(ctx, accession)
    versions = reports.list_reports(ctx, accession)
    earlier = [s.accession for s in detail.priors if s.accession]
    return render(
        request,
        "reading/editor.html",
        status_code,
        detail=detail,
        versions=versions,
        text=text if text is not None else (versions[-1].text if versions else ""),
        acute=acute or bool(versions and versions[-1].acute),
        addendum=addendum,
        prior_reports=reports.signed_of_accessions(ctx, earlier),
        errors=errors or {},
    )


@router.get("/reading/{accession}", response_class=HTMLResponse)
def editor(request: Request, ctx: CtxDep, user: Radiologist, accession: str) -> Response:
    """The procedure, its clinical question, its images, and the report being written."""
    try:
        return _editor(request, ctx, accession)
    except LysbordError as exc:
        return missing(request, exc, "/reading")


@router.post("/reading/{accession}", response_class=HTMLResponse)
def save(
    request: Request,
    ctx: CtxDep,
    user: Radiologist,
    _csrf: CsrfForm,
    accession: str,
    text: Annotated[str, Form()] = "",
    sign: Annotated[str, Form()] = "",
    acute: Annotated[str, Form()] = "",
) -> Response:
    """Save a preliminary version, or sign the final report (``sign`` button)."""
    final, marked = bool(sign), bool(acute)
    try:
        reports.write_report(
            ctx,
            accession,
            text=text,
            author=user.username,
            final=final,
            actor=user.username,
            acute=marked,
        )
    except LysbordError as exc:
        errors = field_errors(request, exc, "text")
        return _editor(request, ctx, accession, text, errors, 422, acute=marked)
    if final:
        return redirect("/reading", "reading.signed")
    return redirect(f"/reading/{accession}", "reading.saved")


@router.post("/reading/{accession}/addendum", response_class=HTMLResponse)
def addendum(
    request: Request,
    ctx: CtxDep,
    user: Radiologist,
    _csrf: CsrfForm,
    accession: str,
    text: Annotated[str, Form()] = "",
    acute: Annotated[str, Form()] = "",
) -> Response:
    """An addendum under the signed report, signed and sent at once; the report stays."""
    try:
        reports.add_addendum(ctx, accession, text=text, author=user.username, acute=bool(acute))
    except IllegalTransition:
        errors = {"state": tr(request, "reading.addendum_needs_signed")}
        return _editor(request, ctx, accession, None, errors, 409, addendum=text)
    except LysbordError as exc:
        errors = field_errors(request, exc, "text")
        return _editor(request, ctx, accession, None, errors, 422, addendum=text)
    return redirect(f"/reading/{accession}", "reading.addendum_added")
