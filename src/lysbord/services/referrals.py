"""Intake: a referral arrives, gets its priority, deadline and requested procedures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from lysbord.domain.calendar import require_aware
from lysbord.domain.errors import InvalidValue, NotFound
from lysbord.domain.priorities import Priority, compute_deadlines
from lysbord.domain.tracking import Queue
from lysbord.domain.workflow import TERMINAL, ProcedureState
from lysbord.services.context import Context
from lysbord.services.events import record
from lysbord.services.views import ReferralView, referral_views
from lysbord.store.models import Appointment, Procedure, Referral, Room, Slot
from lysbord.store.queries import patient_by_identifier, procedure_code, site_by_code

MAX_PROCEDURES = 20
QUEUES = frozenset(q.value for q in Queue)


@dataclass(frozen=True, slots=True)
class NewReferral:
    cpr: str
    referring_unit: str
    clinical_question: str
    priority: Priority
    procedures: Sequence[str]
    received_at: datetime | None = None
    requested_date: date | None = None
    protocol_days: int | None = None
    preferred_site: str | None = None
    placer_order_number: str | None = None


@dataclass(frozen=True, slots=True)
class ReferralFilter:
    cpr: str | None = None
    state: str | None = None  # "open", "closed" or a queue name
    priority: Priority | None = None
    site: str | None = None
    overdue: bool | None = None
    limit: int = 50
    offset: int = 0


def create_referral(ctx: Context, cmd: NewReferral, actor: str) -> ReferralView:
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        referral, _ = receive_referral(ctx, s, cmd, actor, now)
        view = referral_views(s, [referral], now)[0]
        uow.commit()
    return view


def receive_referral(
    ctx: Context, s: Session, cmd: NewReferral, actor: str, now: datetime
) -> tuple[Referral, list[Procedure]]:
    """Create in the caller's transaction (the HL7 inbox commits it with its message)."""
    _check_new(cmd)
    received = require_aware(cmd.received_at or now, "received_at")
    if received > now:
        raise InvalidValue("lies in the future", field="received_at", value=received.isoformat())
    deadlines = compute_deadlines(
        cmd.priority,
        received,
        ctx.settings.deadlines.policy(),
        requested_date=cmd.requested_date,
        protocol_days=cmd.protocol_days,
    )
    patient = patient_by_identifier(s, cmd.cpr.strip().replace("-", "").upper())
    codes = [procedure_code(s, c, field=f"procedures[{i}]") for i, c in enumerate(cmd.procedures)]
    site_id = (
        site_by_code(s, cmd.preferred_site, field="preferred_site").id
        if cmd.preferred_site
        else patient.preferred_site_id
    )
    referral = Referral(
        patient_id=patient.id,
        referring_unit=cmd.referring_unit.strip(),
        clinical_question=cmd.clinical_question.strip(),
        priority=cmd.priority.value,
        received_at=received,
        due_at=deadlines.due_at,
        notify_by=deadlines.notify_by,
        earliest_at=deadlines.earliest_at,
        preferred_site_id=site_id,
        placer_order_number=cmd.placer_order_number,
        created_by=actor,
    )
    s.add(referral)
    s.flush()
    record(
        s,
        "referral.received",
        actor=actor,
        at=now,
        patient_id=patient.id,
        referral_id=referral.id,
        priority=cmd.priority.value,
        due_at=deadlines.due_at.isoformat(),
    )
    procedures = [add_procedure(ctx, s, referral, c.code, actor=actor, at=now) for c in codes]
    return referral, procedures


def _check_new(cmd: NewReferral) -> None:
    if not cmd.procedures:
        raise InvalidValue("a referral needs at least one procedure", field="procedures")
    if len(cmd.procedures) > MAX_PROCEDURES:
        raise InvalidValue(f"at most {MAX_PROCEDURES} procedures", field="procedures")
    for name in ("referring_unit", "clinical_question"):
        if not getattr(cmd, name).strip():
            raise InvalidValue("must not be empty", field=name)


def add_procedure(
    ctx: Context, s: Session, referral: Referral, code: str, *, actor: str, at: datetime
) -> Procedure:
    """A requested procedure with its region-unique accession number and Study Instance UID."""
    procedure = Procedure(
        referral_id=referral.id,
        code=code,
        study_uid=f"{ctx.settings.uid_root}.{uuid.uuid4().int}",
        state=ProcedureState.REQUESTED.value,
        updated_at=at,
    )
    s.add(procedure)
    s.flush()
    # The database id is unique across every node sharing the database.
    procedure.accession = f"{ctx.settings.accession_prefix}{procedure.id:08d}"
    record(
        s,
        "procedure.requested",
        actor=actor,
        at=at,
        patient_id=referral.patient_id,
        referral_id=referral.id,
        procedure_id=procedure.id,
        to_state=ProcedureState.REQUESTED.value,
        code=code,
        accession=procedure.accession,
    )
    return procedure


def close_if_finished(s: Session, referral: Referral, *, actor: str, at: datetime) -> None:
    """A referral ends when every procedure has ended; the reason says how."""
    states = set(s.scalars(select(Procedure.state).where(Procedure.referral_id == referral.id)))
    if referral.closed_at is not None or not states <= {t.value for t in TERMINAL}:
        return
    reason = (
        "all procedures reported"
        if states == {"reported"}
        else "ended: " + ", ".join(sorted(states))
    )
    referral.closed_at, referral.close_reason = at, reason
    record(
        s,
        "referral.closed",
        actor=actor,
        at=at,
        patient_id=referral.patient_id,
        referral_id=referral.id,
        reason=reason,
    )


def get_referral(ctx: Context, referral_id: int) -> ReferralView:
    with ctx.uow(readonly=True) as uow:
        referral = uow.session.get(Referral, referral_id)
        if referral is None:
            raise NotFound("no such referral", field="referral_id", value=referral_id)
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
        raise InvalidValue("must be 1 or more", field="limit", value=flt.limit)
    if flt.offset < 0:
        raise InvalidValue("must be 0 or more", field="offset", value=flt.offset)


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
            f"not open, closed or a queue name ({', '.join(sorted(QUEUES))})",
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
