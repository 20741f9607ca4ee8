"""Intake: a referral arrives, gets its priority, deadline and requested procedures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from lysbord.domain.calendar import require_aware
from lysbord.domain.errors import InvalidValue, NotFound
from lysbord.domain.priorities import Priority, compute_deadlines
from lysbord.domain.tracking import Queue
from lysbord.domain.workflow import TERMINAL, ProcedureState
from lysbord.services.core.context import Context
from lysbord.services.core.events import NewEvent, record, record_many
from lysbord.services.pathway.views import ReferralView, referral_views
from lysbord.store.models import (
    Appointment,
    Patient,
    PatientIdentifier,
    Procedure,
    ProcedureCode,
    Referral,
    Room,
    Slot,
)
from lysbord.store.queries import patient_by_identifier, procedure_code, site_by_code

MAX_PROCEDURES = 20
_REFERRALS = cast(Table, Referral.__table__)
_PROCEDURES = cast(Table, Procedure.__table__)
_PATIENTS = cast(Table, Patient.__table__)
_IDENTIFIERS = cast(Table, PatientIdentifier.__table__)
_CODES = cast(Table, ProcedureCode.__table__)
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
        intake = receive_referral(ctx, s, cmd, actor, now)
        referral = s.get_one(Referral, intake.referral_id)
        view = referral_views(s, [referral], now)[0]
        uow.commit()
    return view


@dataclass(frozen=True, slots=True)
class Requested:
    """A procedure as intake created it: what an order answer (ORR) says of it."""

    id: int
    code: str
    modality: str
    accession: str
    study_uid: str
    state: str = ProcedureState.REQUESTED.value


@dataclass(frozen=True, slots=True)
class Intake:
    referral_id: int
    patient_id: int
    procedures: list[Requested]


def receive_referral(
    ctx: Context, s: Session, cmd: NewReferral, actor: str, now: datetime
) -> Intake:
    """Create in the caller's transaction (the HL7 inbox commits it with its message).

    Core statements, not the ORM's unit of work: an HL7 order arrives hundreds of
    times a second and needs only the new ids back (issue 4)."""
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
    patient_id, site_id = _patient_of(s, cmd.cpr.strip().replace("-", "").upper())
    modalities = _modalities(s, cmd.procedures)
    if cmd.preferred_site:
        site_id = site_by_code(s, cmd.preferred_site, field="preferred_site").id
    referral_id = (
        s.connection()
        .execute(
            _INSERT_REFERRAL,
            {
                "patient_id": patient_id,
                "referring_unit": cmd.referring_unit.strip(),
                "clinical_question": cmd.clinical_question.strip(),
                "priority": cmd.priority.value,
                "received_at": received,
                "due_at": deadlines.due_at,
                "notify_by": deadlines.notify_by,
                "earliest_at": deadlines.earliest_at,
                "preferred_site_id": site_id,
                "placer_order_number": cmd.placer_order_number,
                "created_by": actor,
            },
        )
        .scalar_one()
    )
    procedures = _add_procedures(ctx, s, referral_id, cmd.procedures, modalities, now)
    received_event = NewEvent(
        "referral.received",
        actor,
        now,
        patient_id,
        referral_id,
        data={"priority": cmd.priority.value, "due_at": deadlines.due_at.isoformat()},
    )
    record_many(
        s,
        [received_event, *(_requested(p, patient_id, referral_id, actor, now) for p in procedures)],
    )
    return Intake(referral_id, patient_id, procedures)


# Intake's statements, built once: SQLAlchemy memoizes a statement's cache key on the
# object, and building them afresh for every HL7 order cost more than running them.
_INSERT_REFERRAL = insert(_REFERRALS).returning(_REFERRALS.c.id)
_PATIENT_BY_NUMBER = (
    select(_PATIENTS.c.id, _PATIENTS.c.preferred_site_id, _PATIENTS.c.merged_into_id)
    .join_from(_PATIENTS, _IDENTIFIERS, _IDENTIFIERS.c.patient_id == _PATIENTS.c.id)
    .where(_IDENTIFIERS.c.value == bindparam("number"))
    .order_by(_IDENTIFIERS.c.id)
    .limit(1)
)
_MODALITIES = select(_CODES.c.code, _CODES.c.modality).where(
    _CODES.c.code.in_(bindparam("codes", expanding=True))
)
_INSERT_PROCEDURES = insert(_PROCEDURES).returning(_PROCEDURES.c.id, sort_by_parameter_order=True)
_SET_ACCESSION = update(_PROCEDURES).where(_PROCEDURES.c.id == bindparam("pid"))


def _patient_of(s: Session, cpr: str) -> tuple[int, int | None]:
    """The patient's id and preferred site; a merged record's survivor, as the ORM path finds."""
    row = s.connection().execute(_PATIENT_BY_NUMBER, {"number": cpr}).first()
    if row is not None and row.merged_into_id is None:
        return row.id, row.preferred_site_id
    patient = patient_by_identifier(s, cpr)  # raises UnknownPatient, or follows the merges
    return patient.id, patient.preferred_site_id


def _modalities(s: Session, codes: Sequence[str]) -> dict[str, str]:
    """Each code's modality, in one statement; an unknown code is refused by its position."""
    rows = s.connection().execute(_MODALITIES, {"codes": sorted(set(codes))})
    found: dict[str, str] = dict(rows.tuples().all())
    for i, code in enumerate(codes):
        if code not in found:
            procedure_code(s, code, field=f"procedures[{i}]")  # raises UnknownProcedureCode
    return found


def _add_procedures(
    ctx: Context,
    s: Session,
    referral_id: int,
    codes: Sequence[str],
    modalities: dict[str, str],
    at: datetime,
) -> list[Requested]:
    """Requested procedures with region-unique accession numbers and Study Instance UIDs."""
    uids = [f"{ctx.settings.uid_root}.{uuid.uuid4().int}" for _ in codes]
    rows = [
        {
            "referral_id": referral_id,
            "code": code,
            "study_uid": uid,
            "state": ProcedureState.REQUESTED.value,
            "updated_at": at,
        }
        for code, uid in zip(codes, uids, strict=True)
    ]
    ids = s.connection().execute(_INSERT_PROCEDURES, rows).scalars().all()
    # The database id is unique across every node sharing the database.
    prefix = ctx.settings.accession_prefix
    procedures = [
        Requested(pid, code, modalities[code], f"{prefix}{pid:08d}", uid)
        for pid, code, uid in zip(ids, codes, uids, strict=True)
    ]
    s.connection().execute(
        _SET_ACCESSION, [{"pid": p.id, "accession": p.accession} for p in procedures]
    )
    return procedures


def _requested(
    p: Requested, patient_id: int, referral_id: int, actor: str, at: datetime
) -> NewEvent:
    return NewEvent(
        "procedure.requested",
        actor,
        at,
        patient_id,
        referral_id,
        p.id,
        to_state=p.state,
        data={"code": p.code, "accession": p.accession},
    )


def _check_new(cmd: NewReferral) -> None:
    if not cmd.procedures:
        raise InvalidValue("a referral needs at least one procedure", field="procedures")
    if len(cmd.procedures) > MAX_PROCEDURES:
        raise InvalidValue(f"at most {MAX_PROCEDURES} procedures", field="procedures")
    for name in ("referring_unit", "clinical_question"):
        if not getattr(cmd, name).strip():
            raise InvalidValue("must not be empty", field=name)


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
