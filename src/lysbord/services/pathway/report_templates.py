"""Report templates per procedure code: an administrator writes them, the reading screen
offers those for the case's code and fills one in for the procedure.

A template's text is checked when saved (``domain.reporting.placeholders.check``), so an
unknown ``{{field}}`` is refused then, naming it. Retiring keeps the row (the reading
screen stops offering it); every change is an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lysbord.domain.calendar import local_date
from lysbord.domain.errors import InvalidValue, Msg, NotFound
from lysbord.domain.reporting import placeholders
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.people.views import display_name, primary_identifiers
from lysbord.store.models import Event, Patient, ProcedureCode
from lysbord.store.queries import procedure_by_accession, procedure_code
from lysbord.store.reading_models import ReportTemplate, ReportTemplateCode


@dataclass(frozen=True, slots=True)
class TemplateCommand:
    """What an administrator saves: a name, the text, the procedure codes it is for."""

    name: str
    text: str
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TemplateView:
    id: int
    name: str
    text: str
    codes: list[str]
    created_by: str
    updated_at: datetime
    retired_at: datetime | None


def _views(s: Session, rows: list[ReportTemplate]) -> list[TemplateView]:
    codes: dict[int, list[str]] = {r.id: [] for r in rows}
    links = select(ReportTemplateCode).where(ReportTemplateCode.template_id.in_(codes))
    for link in s.scalars(links.order_by(ReportTemplateCode.code)):
        codes[link.template_id].append(link.code)
    return [
        TemplateView(r.id, r.name, r.text, codes[r.id], r.created_by, r.updated_at, r.retired_at)
        for r in rows
    ]


def list_templates(
    ctx: Context, *, code: str | None = None, retired: bool = False
) -> list[TemplateView]:
    """Templates by name; for one procedure code only if ``code``; retired ones if asked."""
    stmt = select(ReportTemplate).order_by(ReportTemplate.name, ReportTemplate.id)
    if not retired:
        stmt = stmt.where(ReportTemplate.retired_at.is_(None))
    if code:
        linked = select(ReportTemplateCode.template_id).where(ReportTemplateCode.code == code)
        stmt = stmt.where(ReportTemplate.id.in_(linked))
    with ctx.uow(readonly=True) as uow:
        return _views(uow.session, list(uow.session.scalars(stmt)))


def _row(s: Session, template_id: int) -> ReportTemplate:
    row = s.get(ReportTemplate, template_id)
    if row is None:
        raise NotFound(
            Msg("no report template has this id"), field="template_id", value=template_id
        )
    return row


def get_template(ctx: Context, template_id: int) -> TemplateView:
    with ctx.uow(readonly=True) as uow:
        return _views(uow.session, [_row(uow.session, template_id)])[0]


def _checked(s: Session, cmd: TemplateCommand) -> tuple[str, str, list[str]]:
    name = cmd.name.strip()
    if not name:
        raise InvalidValue(Msg("a template needs a name"), field="name")
    codes = list(dict.fromkeys(c.strip() for c in cmd.codes if c.strip()))
    if not codes:
        raise InvalidValue(Msg("a template is for at least one procedure code"), field="codes")
    for code in codes:
        procedure_code(s, code, field="codes")
    return name, placeholders.check(cmd.text), codes


def create_template(ctx: Context, cmd: TemplateCommand, actor: str) -> TemplateView:
    """A new template, offered at once for its procedure codes."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        name, text, codes = _checked(s, cmd)
        row = ReportTemplate(name=name, text=text, created_by=actor, updated_at=now)
        s.add(row)
        s.flush()
        s.add_all(ReportTemplateCode(template_id=row.id, code=c) for c in codes)
        record(s, "template.created", actor=actor, at=now, template_id=row.id, name=name)
        view = _views(s, [row])[0]
        uow.commit()
        return view


def update_template(
    ctx: Context, template_id: int, cmd: TemplateCommand, actor: str
) -> TemplateView:
    """New name, text and codes; reports already written from it keep their own text."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        row = _row(s, template_id)
        row.name, row.text, codes = _checked(s, cmd)
        row.updated_at = now
        old = select(ReportTemplateCode).where(ReportTemplateCode.template_id == row.id)
        for link in s.scalars(old):
            s.delete(link)
        s.flush()
        s.add_all(ReportTemplateCode(template_id=row.id, code=c) for c in codes)
        record(s, "template.changed", actor=actor, at=now, template_id=row.id, name=row.name)
        view = _views(s, [row])[0]
        uow.commit()
        return view


def retire_template(ctx: Context, template_id: int, actor: str) -> TemplateView:
    """No longer offered; the row stays. Retiring twice changes nothing."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        row = _row(s, template_id)
        if row.retired_at is None:
            row.retired_at = now
            record(s, "template.retired", actor=actor, at=now, template_id=row.id, name=row.name)
        view = _views(s, [row])[0]
        uow.commit()
        return view


def filled(ctx: Context, template_id: int, accession: str) -> str:
    """The template's text filled for the procedure ``accession``."""
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        text = _row(s, template_id).text
        return placeholders.fill(text, _case_values(s, accession, ctx.now()))


def _case_values(s: Session, accession: str, now: datetime) -> dict[str, str]:
    procedure, referral = procedure_by_accession(s, accession)
    patient = s.get_one(Patient, referral.patient_id)
    code = s.get_one(ProcedureCode, procedure.code)
    started = s.scalar(
        select(Event.at)
        .where(Event.procedure_id == procedure.id, Event.to_state == "in-progress")
        .order_by(Event.id.desc())
        .limit(1)
    )
    on = local_date(started or now)
    years = on.year - patient.birth_date.year
    years -= (on.month, on.day) < (patient.birth_date.month, patient.birth_date.day)
    return {
        "patient_name": display_name(patient),
        "cpr": primary_identifiers(s, [patient.id]).get(patient.id, ""),
        "age": str(years),
        "procedure": code.name,
        "procedure_code": code.code,
        "accession": accession,
        "indication": referral.clinical_question,
        "referring_unit": referral.referring_unit,
        "exam_date": on.strftime("%d.%m.%Y"),
    }
