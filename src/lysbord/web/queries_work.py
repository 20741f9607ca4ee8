"""Read models for the work queues: the referral inbox and the radiologists' reading list.

Both are ordered the way people must work them: most urgent priority first, then the
earliest deadline. One page is read with LIMIT/OFFSET; the views are built for that
page only, so a long queue costs no more than a short one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from lysbord.domain.priorities import Priority
from lysbord.services.archive import grouped
from lysbord.services.core.context import Context
from lysbord.services.pathway.views import ReferralView, referral_views
from lysbord.services.people.views import display_name, primary_identifiers
from lysbord.store.models import (
    Appointment,
    Patient,
    Procedure,
    ProcedureCode,
    Referral,
    Room,
    Site,
    Slot,
)

PAGE_SIZE = 50
#: Procedures that still need a time: never booked, or booked and not come.
AWAITING_BOOKING = ("requested", "no-show")


@dataclass(frozen=True, slots=True)
class ReadingItem:
    accession: str
    study_uid: str
    code_name: str
    modality: str
    priority: str
    due_at: datetime
    performed_at: datetime
    images_received_at: datetime | None
    cpr: str
    patient_name: str
    referral_id: int
    site: str  # where it was examined: its appointment's site; "" without one


@dataclass(frozen=True, slots=True)
class ReadingFilter:
    """The reading list's filters, each a known value or None (any); combined with AND."""

    modality: str | None = None
    site: str | None = None
    body_part: str | None = None
    priority: str | None = None


def priority_rank(column: ColumnElement[str] | None = None) -> ColumnElement[int]:
    """The priority's rank as SQL (of ``column``, the referral's priority unless given),
    so the database sorts by urgency, not by name."""
    value = Referral.priority if column is None else column
    return case({p.value: p.rank for p in Priority}, value=value, else_=len(Priority))


def _count(ctx: Context, stmt: Select[tuple[Referral]]) -> int:
    with ctx.uow(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def inbox(
    ctx: Context, *, priority: str | None, site: str | None, offset: int
) -> tuple[list[ReferralView], int]:
    """Open referrals with a procedure awaiting booking, most urgent and soonest due first."""
    waiting = (
        select(Procedure.id)
        .where(Procedure.referral_id == Referral.id, Procedure.state.in_(AWAITING_BOOKING))
        .exists()
    )
    stmt = select(Referral).where(Referral.closed_at.is_(None), waiting)
    if priority:
        stmt = stmt.where(Referral.priority == priority)
    if site:
        stmt = stmt.where(
            Referral.preferred_site_id == select(Site.id).where(Site.code == site).scalar_subquery()
        )
    total = _count(ctx, stmt)
    ordered = stmt.order_by(priority_rank(), Referral.due_at, Referral.id)
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        page = s.scalars(ordered.limit(PAGE_SIZE).offset(offset)).all()
        return referral_views(s, page, ctx.now()), total


def _examined_at() -> Select[tuple[int, str]]:
    """Each procedure's site code: that of the room its active appointment is in."""
    return (
        select(Appointment.procedure_id, Site.code)
        .join(Slot, Slot.id == Appointment.slot_id)
        .join(Room, Room.id == Slot.room_id)
        .join(Site, Site.id == Room.site_id)
        .where(Appointment.active)
    )


def reading_list(
    ctx: Context, filters: ReadingFilter, *, offset: int
) -> tuple[list[ReadingItem], int]:
    """Performed procedures awaiting a report, most urgent and soonest due first."""
    stmt = (
        select(Procedure, ProcedureCode, Referral)
        .join(ProcedureCode, ProcedureCode.code == Procedure.code)
        .join(Referral, Referral.id == Procedure.referral_id)
        .where(Procedure.state == "completed")
    )
    if filters.modality:
        stmt = stmt.where(ProcedureCode.modality == filters.modality)
    if filters.body_part:
        stmt = stmt.where(ProcedureCode.body_part == filters.body_part)
    if filters.priority:
        stmt = stmt.where(Referral.priority == filters.priority)
    if filters.site:
        at = _examined_at().subquery()
        stmt = stmt.where(
            Procedure.id.in_(select(at.c.procedure_id).where(at.c.code == filters.site))
        )
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        order = (priority_rank(), Referral.due_at, Procedure.id)
        rows = s.execute(stmt.order_by(*order).limit(PAGE_SIZE).offset(offset)).tuples().all()
        ids = {ref.patient_id for *_, ref in rows}
        names = {
            p.id: display_name(p) for p in s.scalars(select(Patient).where(Patient.id.in_(ids)))
        }
        numbers = primary_identifiers(s, ids)
        uids = _study_uids(s, [p for p, _, _ in rows])
        page_ids = [p.id for p, _, _ in rows]
        sites = dict(
            s.execute(_examined_at().where(Appointment.procedure_id.in_(page_ids))).tuples().all()
        )
        items = [
            ReadingItem(
                p.accession or "",
                uids[p.id],
                code.name,
                code.modality,
                ref.priority,
                ref.due_at,
                p.updated_at,
                p.images_received_at,
                numbers.get(ref.patient_id, ""),
                names[ref.patient_id],
                ref.id,
                sites.get(p.id, ""),
            )
            for p, code, ref in rows
        ]
        return items, total


def _study_uids(s: Session, procedures: Sequence[Procedure]) -> dict[int, str]:
    """The UID the viewer opens: the study linked to the procedure, or its group case's
    (``services/archive/grouped.py``); without one, the UID the RIS issued for it."""
    found = grouped.studies_of(s, [p.id for p in procedures])
    return {p.id: found[p.id].study_uid if p.id in found else p.study_uid for p in procedures}
