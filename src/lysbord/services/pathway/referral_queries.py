"""Reading referrals: one in full, and pages of them filtered by queue, state, site and patient."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from lysbord.domain.errors import InvalidValue, Msg, NotFound
from lysbord.domain.priorities import Priority
from lysbord.domain.tracking import Queue
from lysbord.services.core.context import Context
from lysbord.services.pathway.referrals import QUEUES
from lysbord.services.pathway.views import ReferralView, referral_views
from lysbord.store.models import (
    Appointment,
    Procedure,
    Referral,
    Room,
    Slot,
)
from lysbord.store.queries import patient_by_identifier, site_by_code


@dataclass(frozen=True, slots=True)
class ReferralFilter:
    cpr: str | None = None
    state: str | None = None  # "open", "closed" or a queue name
    priority: Priority | None = None
    site: str | None = None
    overdue: bool | None = None
    limit: int = 50
    offset: int = 0


def get_referral(ctx: Context, referral_id: int) -> ReferralView:
    with ctx.uow(readonly=True) as uow:
        referral = uow.session.get(Referral, referral_id)
        if referral is None:
            raise NotFound(Msg("no such referral"), field="referral_id", value=referral_id)
        return referral_views(uow.session, [referral], ctx.now())[0]


def list_referrals(ctx: Context, flt: ReferralFilter) -> tuple[list[ReferralView], int]:
    """One page of referrals (most urgent deadline first) and how many matched in all."""
    _check_page(flt)
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        stmt = _filtered(s, flt).order_by(Referral.due_at, Referral.id)
        if not _needs_views(flt):
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            page = s.scalars(stmt.limit(flt.limit).offset(flt.offset)).all()
            return referral_views(s, page, now), total
        views = referral_views(s, s.scalars(stmt).all(), now)
    if flt.state is not None and flt.state in QUEUES:
        views = [v for v in views if v.queue == Queue(flt.state)]
    if flt.overdue is not None:
        views = [v for v in views if v.flags.overdue == flt.overdue]
    return views[flt.offset : flt.offset + flt.limit], len(views)


def _check_page(flt: ReferralFilter) -> None:
    """A negative offset would page backwards from the end in Python and fail in SQL."""
    if flt.limit < 1:
        raise InvalidValue(Msg("must be 1 or more"), field="limit", value=flt.limit)
    if flt.offset < 0:
        raise InvalidValue(Msg("must be 0 or more"), field="offset", value=flt.offset)


def _needs_views(flt: ReferralFilter) -> bool:
    """Queues and overdue flags are computed, so filtering on them needs the views."""
    return flt.overdue is not None or flt.state not in (None, "open", "closed")


def _filtered(s: Session, flt: ReferralFilter) -> Select[tuple[Referral]]:
    stmt = select(Referral)
    if flt.cpr:
        patient = patient_by_identifier(s, flt.cpr.strip().replace("-", "").upper())
        stmt = stmt.where(Referral.patient_id == patient.id)
    if flt.priority:
        stmt = stmt.where(Referral.priority == Priority(flt.priority).value)
    if flt.site:
        stmt = stmt.where(_at_site(site_by_code(s, flt.site).id))
    if flt.state == "closed":
        return stmt.where(Referral.closed_at.is_not(None))
    if flt.state is not None and flt.state != "open" and flt.state not in QUEUES:
        raise InvalidValue(
            Msg("not open, closed or a queue name ({queues})", queues=", ".join(sorted(QUEUES))),
            field="state",
            value=flt.state,
        )
    return stmt if flt.state is None else stmt.where(Referral.closed_at.is_(None))


def _at_site(site_id: int) -> ColumnElement[bool]:
    """As the tracker counts it: booked into one of its rooms, or preferred there if unbooked."""
    booked = (
        select(Procedure.id)
        .join(Appointment, Appointment.procedure_id == Procedure.id)
        .join(Slot, Slot.id == Appointment.slot_id)
        .join(Room, Room.id == Slot.room_id)
        .where(Procedure.referral_id == Referral.id, Appointment.active.is_(True))
    )
    return or_(
        booked.where(Room.site_id == site_id).exists(),
        and_(Referral.preferred_site_id == site_id, ~booked.exists()),
    )
