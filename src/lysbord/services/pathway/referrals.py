"""Intake: a referral arrives, gets its priority, deadline and requested procedures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from lysbord.domain.calendar import require_aware
from lysbord.domain.errors import InvalidValue, Msg
from lysbord.domain.priorities import Priority, compute_deadlines
from lysbord.domain.tracking import Queue
from lysbord.domain.workflow import TERMINAL, ProcedureState
from lysbord.services.core.context import Context
from lysbord.services.core.events import NewEvent, record, record_many
from lysbord.services.pathway.views import ReferralView, referral_views
from lysbord.store.models import (
    Patient,
    PatientIdentifier,
    Procedure,
    ProcedureCode,
    Referral,
)
from lysbord.store.queries import patient_by_identifier, procedure_code, site_by_code

MAX_PROCEDURES = 20
#: How a referral ended, as stored (and shown by the screens in their own words).
ALL_REPORTED, ENDED = "all procedures reported", "ended: "
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
        raise InvalidValue(
            Msg("lies in the future"), field="received_at", value=received.isoformat()
        )
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
        raise InvalidValue(Msg("a referral needs at least one procedure"), field="procedures")
    if len(cmd.procedures) > MAX_PROCEDURES:
        raise InvalidValue(
            Msg("at most {max_procedures} procedures", max_procedures=MAX_PROCEDURES),
            field="procedures",
        )
    for name in ("referring_unit", "clinical_question"):
        if not getattr(cmd, name).strip():
            raise InvalidValue(Msg("must not be empty"), field=name)


def close_if_finished(s: Session, referral: Referral, *, actor: str, at: datetime) -> None:
    """A referral ends when every procedure has ended; the reason says how."""
    states = set(s.scalars(select(Procedure.state).where(Procedure.referral_id == referral.id)))
    if referral.closed_at is not None or not states <= {t.value for t in TERMINAL}:
        return
    reason = ALL_REPORTED if states == {"reported"} else ENDED + ", ".join(sorted(states))
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
