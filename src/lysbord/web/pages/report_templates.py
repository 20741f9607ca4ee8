"""Report templates for the administrator: list, write, change and retire, in Danish.

A template names procedure codes and a text with ``{{placeholders}}``; an unknown or
unclosed one is refused beside the text field, naming it, and what was typed stays.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from lysbord.domain.errors import LysbordError
from lysbord.domain.reporting.placeholders import CASE_FIELDS, FREE_FIELDS
from lysbord.services.operations.region import list_procedure_codes
from lysbord.services.pathway import report_templates as templates
from lysbord.services.pathway.report_templates import TemplateCommand, TemplateView
from lysbord.web.auth import CsrfForm, CurrentUser, Role, require
from lysbord.web.pages.shared import CtxDep, error_text, missing, redirect, tr
from lysbord.web.templating import render

router = APIRouter(prefix="/report-templates")
AdminDep = Annotated[CurrentUser, Depends(require(Role.admin))]
EMPTY = TemplateCommand("", "", ())


def _typed(
    name: Annotated[str, Form(max_length=200)] = "",
    text: Annotated[str, Form(max_length=20000)] = "",
    codes: Annotated[list[str] | None, Form()] = None,
) -> TemplateCommand:
    """The template form as typed: kept to show again beside any error."""
    return TemplateCommand(name, text, tuple(codes or ()))


Typed = Annotated[TemplateCommand, Depends(_typed)]


def _braced(name: str) -> str:
    """A placeholder as it is written in a template's text: ``{{name}}``."""
    return "{{" + name + "}}"


def _page(
    request: Request,
    ctx: CtxDep,
    status_code: int = 200,
    *,
    editing: TemplateView | None = None,
    typed: TemplateCommand | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    if typed is None:
        typed = (
            TemplateCommand(editing.name, editing.text, tuple(editing.codes)) if editing else EMPTY
        )
    return render(
        request,
        "admin/templates.html",
        status_code,
        templates=templates.list_templates(ctx, retired=True),
        codes=[(c.code, f"{c.code} {c.name}") for c in list_procedure_codes(ctx)],
        case_fields=[_braced(n) for n in CASE_FIELDS],
        free_fields=[_braced(n) for n in FREE_FIELDS],
        editing=editing,
        typed=typed or EMPTY,
        errors=errors or {},
    )


def _errors(request: Request, exc: LysbordError, typed: TemplateCommand) -> dict[str, str]:
    """The refusal beside its field, in the page's language, naming an unknown placeholder."""
    field = exc.field or "text"
    if field == "text" and exc.value is not None:
        known = ", ".join(_braced(n) for n in (*CASE_FIELDS, *FREE_FIELDS))
        said = tr(request, "templates.unknown_field", name=_braced(str(exc.value)), known=known)
    elif field == "text":
        said = tr(request, "templates.unclosed" if typed.text.strip() else "templates.text_needed")
    elif field == "codes":
        said = tr(request, "templates.unknown_code" if exc.value else "templates.codes_needed")
    elif field == "name":
        said = tr(request, "templates.name_needed")
    else:
        said = error_text(request, exc)
    return {field: said}


@router.get("", response_class=HTMLResponse)
def index(request: Request, ctx: CtxDep, admin: AdminDep) -> HTMLResponse:
    """Every template, retired ones marked, and the form for a new one."""
    return _page(request, ctx)


@router.post("", response_class=HTMLResponse)
def create(
    request: Request,
    ctx: CtxDep,
    admin: AdminDep,
    _csrf: CsrfForm,
    typed: Typed,
) -> Response:
    """A new template."""
    try:
        templates.create_template(ctx, typed, admin.username)
    except LysbordError as exc:
        return _page(request, ctx, 422, typed=typed, errors=_errors(request, exc, typed))
    return redirect("/report-templates", "templates.saved")


@router.get("/{template_id}", response_class=HTMLResponse)
def edit(request: Request, ctx: CtxDep, admin: AdminDep, template_id: int) -> Response:
    """The form for one template, filled with what it says now."""
    try:
        return _page(request, ctx, editing=templates.get_template(ctx, template_id))
    except LysbordError as exc:
        return missing(request, exc, "/report-templates")


@router.post("/{template_id}", response_class=HTMLResponse)
def update(
    request: Request,
    ctx: CtxDep,
    admin: AdminDep,
    _csrf: CsrfForm,
    template_id: int,
    typed: Typed,
) -> Response:
    """Save the changed name, text and codes."""
    try:
        editing = templates.get_template(ctx, template_id)
        templates.update_template(ctx, template_id, typed, admin.username)
    except LysbordError as exc:
        if exc.field == "template_id":
            return missing(request, exc, "/report-templates")
        errors = _errors(request, exc, typed)
        return _page(request, ctx, 422, editing=editing, typed=typed, errors=errors)
    return redirect("/report-templates", "templates.saved")


@router.post("/{template_id}/retire", response_class=HTMLResponse)
def retire(
    request: Request, ctx: CtxDep, admin: AdminDep, _csrf: CsrfForm, template_id: int
) -> Response:
    """No longer offered on the reading screen; kept on record."""
    try:
        templates.retire_template(ctx, template_id, admin.username)
    except LysbordError as exc:
        return missing(request, exc, "/report-templates")
    return redirect("/report-templates", "templates.retired")
