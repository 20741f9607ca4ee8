"""The radiologists' reading worklist, the report editor and signing.

Every save is a new report version (``services.pathway.reports``): a preliminary one keeps the
procedure waiting; signing writes the final version and reports the procedure, which
also puts the result message in the outbox. Nothing typed is lost on an error.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.access import CurrentUser
from lysbord.domain.errors import IllegalTransition, LysbordError
from lysbord.domain.priorities import Priority
from lysbord.http.paging import Offset
from lysbord.services.operations.region import list_procedure_codes, list_sites
from lysbord.services.pathway import procedures, report_templates, reports
from lysbord.web.auth import CsrfForm, require
from lysbord.web.pages.shared import (
    CtxDep,
    R,
    body_part_label,
    field_errors,
    missing,
    redirect,
    tr,
)
from lysbord.web.queries_work import PAGE_SIZE, ReadingFilter, ReadingItem, reading_list
from lysbord.web.templating import render

router = APIRouter()

Radiologist = Annotated[CurrentUser, Depends(require(R.radiologist))]
#: The filters, in the order the form shows them.
FILTERS = ("modality", "site", "body_part", "priority")


def _choices(request: Request, ctx: CtxDep) -> dict[str, list[tuple[str, str]]]:
    """What each filter offers: (value, label), from the catalogue and the region."""
    codes = list_procedure_codes(ctx)
    return {
        "modality": [(m, m) for m in sorted({c.modality for c in codes})],
        "site": [(s.code, f"{s.name} ({s.code})") for s in list_sites(ctx)],
        "body_part": sorted(
            {(c.body_part, body_part_label(request, c.body_part)) for c in codes if c.body_part},
            key=lambda pair: pair[1],
        ),
        "priority": [(p.value, tr(request, f"priority.{p.value}")) for p in Priority],
    }


def list_query(back: str) -> str:
    """The reading list's filters from a query string, and nothing else: where the case's
    page leads back to (never an address of the caller's choosing)."""
    return urlencode([(k, v) for k, v in parse_qsl(back) if k in FILTERS and v])


@router.get("/reading", response_class=HTMLResponse)
def index(
    request: Request,
    ctx: CtxDep,
    user: Radiologist,
    modality: str = "",
    site: str = "",
    body_part: str = "",
    priority: str = "",
    offset: Offset = 0,
) -> HTMLResponse:
    """Performed procedures awaiting a report: most urgent, soonest due first; filtered by
    modality, site, body part and priority together. An unknown value is refused in Danish."""
    chosen = {"modality": modality, "site": site, "body_part": body_part, "priority": priority}
    choices = _choices(request, ctx)
    errors = {
        name: tr(request, f"reading.unknown_{name}", value=value)
        for name, value in chosen.items()
        if value and value not in {v for v, _ in choices[name]}
    }
    items: list[ReadingItem] = []
    total = 0
    if not errors:
        filters = ReadingFilter(**{k: v or None for k, v in chosen.items()})
        items, total = reading_list(ctx, filters, offset=offset)
    return render(
        request,
        "reading/list.html",
        422 if errors else 200,
        items=items,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        chosen=chosen,
        choices=choices,
        filters=FILTERS,
        query=urlencode({k: v for k, v in chosen.items() if v}),
        errors=errors,
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
    template: str = "",
    replace: bool = False,
    back: str = "",
) -> HTMLResponse:
    detail = procedures.get_procedure(ctx, accession)
    versions = reports.list_reports(ctx, accession)
    earlier = [s.accession for s in detail.priors if s.accession]
    offered = report_templates.list_templates(ctx, code=detail.procedure.code)
    errors = dict(errors or {})
    chosen = next((t for t in offered if str(t.id) == template), None)
    pending = None  # a template chosen over a saved draft: filled only once the user says so
    if template and chosen is None:
        errors["template"] = tr(request, "reading.unknown_template", value=template)
        status_code = 422
    elif chosen is not None and versions and not replace:
        pending = chosen
    elif chosen is not None:
        text = report_templates.filled(ctx, chosen.id, accession)
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
        errors=errors,
        templates=offered,
        pending=pending,
        back=list_query(back),
    )


@router.get("/reading/{accession}", response_class=HTMLResponse)
def editor(
    request: Request,
    ctx: CtxDep,
    user: Radiologist,
    accession: str,
    template: str = "",
    replace: str = "",
    back: str = "",
) -> Response:
    """The procedure, its clinical question, its images, and the report being written;
    ``?template=ID`` fills the box from a template (over a saved draft only with ``replace``)."""
    try:
        return _editor(request, ctx, accession, template=template, replace=bool(replace), back=back)
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
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Save a preliminary version, or sign the final report (``sign`` button) and go back
    to the list as it was filtered."""
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
        return _editor(request, ctx, accession, text, errors, 422, acute=marked, back=back)
    query = list_query(back)
    if final:
        return redirect(f"/reading?{query}" if query else "/reading", "reading.signed")
    return redirect(f"/reading/{accession}?{urlencode({'back': query})}", "reading.saved")


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
