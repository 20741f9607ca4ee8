"""Acute findings: signed reports a radiologist marked acute, for the referring unit.

A mark in the report is not enough when a patient's life may turn on it: the list is
what the department works through to make sure each referring unit has heard, newest
first, filtered by unit. It reads every signed version marked acute, the latest per
procedure (an addendum that keeps the mark does not list the procedure twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from lysbord.services.core.context import Context
from lysbord.services.pathway.views import SIGNED_STATUSES
from lysbord.services.people.views import display_name, primary_identifiers
from lysbord.store.models import Patient, Procedure, ProcedureCode, Referral
from lysbord.store.outbox_models import Report

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AcuteFinding:
    accession: str
    procedure_name: str
    referring_unit: str
    cpr: str
    patient_name: str
    signed_by: str
    signed_at: datetime
    text: str


def acute_findings(
    ctx: Context, *, unit: str | None = None, offset: int = 0, limit: int = PAGE_SIZE
) -> tuple[list[AcuteFinding], int]:
    """One page of acute findings, newest first, and how many there are in all."""
    latest = (
        select(func.max(Report.id))
        .where(Report.status.in_(SIGNED_STATUSES))
        .group_by(Report.procedure_id)
        .scalar_subquery()
    )
    stmt = (
        select(Report, Procedure, ProcedureCode.name, Referral)
        .join(Procedure, Procedure.id == Report.procedure_id)
        .join(ProcedureCode, ProcedureCode.code == Procedure.code)
        .join(Referral, Referral.id == Procedure.referral_id)
        .where(Report.id.in_(latest), Report.acute.is_(True))
    )
    if unit and unit.strip():
        stmt = stmt.where(Referral.referring_unit == unit.strip())
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        page = stmt.order_by(Report.written_at.desc(), Report.id.desc())
        rows = s.execute(page.limit(limit).offset(offset)).tuples().all()
        ids = {ref.patient_id for *_, ref in rows}
        patients = {p.id: p for p in s.scalars(select(Patient).where(Patient.id.in_(ids)))}
        numbers = primary_identifiers(s, ids)
        return [
            AcuteFinding(
                p.accession or "",
                name,
                ref.referring_unit,
                numbers.get(ref.patient_id, ""),
                display_name(patients[ref.patient_id]),
                r.author,
                r.written_at,
                r.text,
            )
            for r, p, name, ref in rows
        ], total


def referring_units(ctx: Context) -> list[str]:
    """The units with an acute finding, for the list's filter."""
    with ctx.uow(readonly=True) as uow:
        stmt = (
            select(Referral.referring_unit)
            .join(Procedure, Procedure.referral_id == Referral.id)
            .join(Report, Report.procedure_id == Procedure.id)
            .where(Report.acute.is_(True))
            .distinct()
            .order_by(Referral.referring_unit)
        )
        return list(uow.session.scalars(stmt))
