"""What use cases hand back: plain values, loaded in batches, never live rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lysbord.domain.tracking import Flags, ProcedureSnapshot, Queue, flags, referral_queue
from lysbord.domain.workflow import ProcedureState
from lysbord.services.archive.views import RegionStudy, StudySummary, study_summaries
from lysbord.services.people.views import display_name, primary_identifiers
from lysbord.store.models import (
    Appointment,
    Event,
    Patient,
    Procedure,
    ProcedureCode,
    Referral,
    Room,
    Site,
    Slot,
)
from lysbord.store.outbox_models import Report


@dataclass(frozen=True, slots=True)
class AppointmentView:
    id: int
    slot_id: int
    start_at: datetime
    end_at: datetime
    room_code: str
    room_name: str
    ae_title: str
    modality: str
    site_code: str
    site_name: str
    active: bool
    booked_at: datetime
    booked_by: str


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    at: datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: dict[str, Any]


#: A report version that is signed: what the referring unit may act on.
SIGNED_STATUSES = ("final", "corrected", "addendum")


@dataclass(frozen=True, slots=True)
class ProcedureView:
    id: int
    referral_id: int
    accession: str
    study_uid: str
    code: str
    name: str
    modality: str
    duration_minutes: int
    state: str
    images_received_at: datetime | None
    appointment: AppointmentView | None
    study: StudySummary | None = None
    report: SignedReport | None = None  # its latest signed version


@dataclass(frozen=True, slots=True)
class SignedReport:
    """What the patient's page and the referral show of a signed report: who, when, what."""

    version: int
    status: str
    text: str
    signed_by: str
    signed_at: datetime
    acute: bool


@dataclass(frozen=True, slots=True)
class ReferralView:
    id: int
    patient_id: int
    cpr: str
    patient_name: str
    referring_unit: str
    clinical_question: str
    priority: str
    received_at: datetime
    due_at: datetime
    notify_by: datetime | None
    earliest_at: datetime | None
    preferred_site: str | None
    closed_at: datetime | None
    close_reason: str | None
    queue: Queue | None
    flags: Flags
    procedures: list[ProcedureView]


@dataclass(frozen=True, slots=True)
class ProcedureDetail:
    """A procedure with the referral around it, its whole history, its images and priors."""

    procedure: ProcedureView
    referral: ReferralView
    events: list[EventView]
    viewer_url: str | None = None
    priors: list[RegionStudy] = field(default_factory=list)


def appointment_views(session: Session, procedure_ids: Sequence[int]) -> dict[int, AppointmentView]:
    """The active appointment of each procedure that has one."""
    rows = session.execute(
        select(Appointment, Slot, Room, Site)
        .join(Slot, Slot.id == Appointment.slot_id)
        .join(Room, Room.id == Slot.room_id)
        .join(Site, Site.id == Room.site_id)
        .where(Appointment.procedure_id.in_(procedure_ids), Appointment.active.is_(True))
    )
    return {
        a.procedure_id: AppointmentView(
            a.id,
            slot.id,
            slot.start_at,
            slot.end_at,
            room.code,
            room.name,
            room.ae_title,
            room.modality,
            site.code,
            site.name,
            a.active,
            a.booked_at,
            a.booked_by,
        )
        for a, slot, room, site in rows.tuples()
    }


def procedure_views(
    session: Session, referral_ids: Sequence[int]
) -> dict[int, list[ProcedureView]]:
    rows = (
        session.execute(
            select(Procedure, ProcedureCode)
            .join(ProcedureCode, ProcedureCode.code == Procedure.code)
            .where(Procedure.referral_id.in_(referral_ids))
            .order_by(Procedure.id)
        )
        .tuples()
        .all()
    )
    appointments = appointment_views(session, [p.id for p, _ in rows])
    studies = study_summaries(session, [p.id for p, _ in rows])
    signed = signed_reports(session, [p.id for p, _ in rows])
    by_referral: dict[int, list[ProcedureView]] = defaultdict(list)
    for p, code in rows:
        by_referral[p.referral_id].append(
            ProcedureView(
                p.id,
                p.referral_id,
                p.accession or "",
                p.study_uid,
                p.code,
                code.name,
                code.modality,
                code.duration_minutes,
                p.state,
                p.images_received_at,
                appointments.get(p.id),
                studies.get(p.id),
                signed.get(p.id),
            )
        )
    return by_referral


def signed_reports(session: Session, procedure_ids: Sequence[int]) -> dict[int, SignedReport]:
    """Each procedure's latest signed report version (final, corrected or addendum): only
    that one is read, as referral lists call this for every procedure they show."""
    latest = (
        select(func.max(Report.id))
        .where(Report.procedure_id.in_(procedure_ids), Report.status.in_(SIGNED_STATUSES))
        .group_by(Report.procedure_id)
        .scalar_subquery()
    )
    rows = session.scalars(select(Report).where(Report.id.in_(latest)))
    return {
        r.procedure_id: SignedReport(r.version, r.status, r.text, r.author, r.written_at, r.acute)
        for r in rows
    }


def referral_views(
    session: Session, referrals: Sequence[Referral], now: datetime
) -> list[ReferralView]:
    """Views of many referrals in four queries, each with its one queue and its flags."""
    ids = [r.id for r in referrals]
    procedures = procedure_views(session, ids)
    patients = {
        p.id: p
        for p in session.scalars(
            select(Patient).where(Patient.id.in_({r.patient_id for r in referrals}))
        )
    }
    numbers = primary_identifiers(session, patients)
    sites = dict(session.execute(select(Site.id, Site.code)).tuples().all())
    return [
        _referral_view(
            r,
            patients[r.patient_id],
            numbers.get(r.patient_id, ""),
            sites.get(r.preferred_site_id or 0),
            procedures.get(r.id, []),
            now,
        )
        for r in referrals
    ]


def _referral_view(
    r: Referral,
    patient: Patient,
    cpr: str,
    site: str | None,
    procs: list[ProcedureView],
    now: datetime,
) -> ReferralView:
    queue = None if r.closed_at else referral_queue([snapshot(p) for p in procs], now)
    starts = [p.appointment.start_at for p in procs if p.appointment and p.state == "booked"]
    return ReferralView(
        id=r.id,
        patient_id=r.patient_id,
        cpr=cpr,
        patient_name=display_name(patient),
        referring_unit=r.referring_unit,
        clinical_question=r.clinical_question,
        priority=r.priority,
        received_at=r.received_at,
        due_at=r.due_at,
        notify_by=r.notify_by,
        earliest_at=r.earliest_at,
        preferred_site=site,
        closed_at=r.closed_at,
        close_reason=r.close_reason,
        queue=queue,
        flags=flags(queue, r.due_at, r.notify_by, max(starts, default=None), now),
        procedures=procs,
    )


def snapshot(p: ProcedureView) -> ProcedureSnapshot:
    return ProcedureSnapshot(
        state=ProcedureState(p.state),
        slot_start=p.appointment.start_at if p.appointment else None,
        images_received=p.images_received_at is not None,
    )


def event_views(session: Session, procedure_id: int) -> list[EventView]:
    events = session.scalars(
        select(Event).where(Event.procedure_id == procedure_id).order_by(Event.id)
    )
    return [
        EventView(e.id, e.at, e.actor, e.kind, e.from_state, e.to_state, e.reason, e.data)
        for e in events
    ]
