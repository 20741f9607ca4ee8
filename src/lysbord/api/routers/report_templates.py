"""Report templates per procedure code: read by anyone signed in, written by an admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lysbord.api.schemas import FilledTemplate, TemplateBody, TemplateFields
from lysbord.domain.reporting import placeholders
from lysbord.http.context import ContextDep
from lysbord.http.deps import AdminActor
from lysbord.services.pathway import report_templates as templates
from lysbord.services.pathway.report_templates import TemplateCommand, TemplateView

router = APIRouter(prefix="/report-templates", tags=["reports"])


def _command(body: TemplateBody) -> TemplateCommand:
    return TemplateCommand(body.name, body.text, tuple(body.codes))


@router.get("")
def list_templates(
    ctx: ContextDep,
    code: Annotated[str | None, Query(max_length=16, description="A procedure code")] = None,
    retired: bool = False,
) -> list[TemplateView]:
    """Templates by name: those for one procedure code with ``code``; retired ones if asked."""
    return templates.list_templates(ctx, code=code, retired=retired)


@router.get("/fields")
def fields() -> TemplateFields:
    """The placeholders a template's text may name, as ``{{name}}``."""
    return TemplateFields(case=list(placeholders.CASE_FIELDS), free=list(placeholders.FREE_FIELDS))


@router.get("/{template_id}")
def get_template(template_id: int, ctx: ContextDep) -> TemplateView:
    """One template, retired or not."""
    return templates.get_template(ctx, template_id)


@router.get("/{template_id}/filled")
def filled(
    template_id: int, ctx: ContextDep, accession: Annotated[str, Query(max_length=16)]
) -> FilledTemplate:
    """The template's text filled for the procedure ``accession`` (free fields marked)."""
    text = templates.filled(ctx, template_id, accession)
    return FilledTemplate(template_id=template_id, accession=accession, text=text)


@router.post("", status_code=201)
def create(body: TemplateBody, ctx: ContextDep, actor: AdminActor) -> TemplateView:
    """A new template; an unknown placeholder in ``text`` is 422 naming it."""
    return templates.create_template(ctx, _command(body), actor)


@router.put("/{template_id}")
def update(
    template_id: int, body: TemplateBody, ctx: ContextDep, actor: AdminActor
) -> TemplateView:
    """Replace the name, text and codes."""
    return templates.update_template(ctx, template_id, _command(body), actor)


@router.delete("/{template_id}")
def retire(template_id: int, ctx: ContextDep, actor: AdminActor) -> TemplateView:
    """Retire the template: no longer offered, kept on record."""
    return templates.retire_template(ctx, template_id, actor)
