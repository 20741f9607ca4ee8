"""Read models for the room screens: the radiographers' day list and the room calendar.

Both read one room's slots in a window through the slots' (room, start) unique index.
The day list is what the scanner's worklist serves (active appointments) plus the
day's no-shows, so a radiographer sees who did not come; the MPPS column is what the
scanner last reported for the procedure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from lysbord.domain.calendar import local_date, start_of_local_day
from lysbord.domain.errors import Msg, NotFound
from lysbord.services.core.context import Context
from lysbord.services.people.views import display_name, primary_identifiers
from lysbord.store.archive_models import (
    Instance,
    PerformedStep,
    PerformedStepProcedure,
    Series,
    Study,
)
from lysbord.store.models import (
    Appointment,
    Block,
    Event,
    Patient,
    Procedure,
    ProcedureCode,
    Referral,
    Room,
    Site,
    Slot,
)


@dataclass(frozen=True, slots=True)
class RoomRef:
    id: int
    code: str
    name: str
    modality: str
    ae_title: str
    site_code: str
    site_name: str


@dataclass(frozen=True, slots=True)
class DayItem:
    appointment_id: int
    start_at: datetime
    end_at: datetime
    accession: str
    code_name: str
    state: str
    priority: str
    cpr: str
    patient_name: str
    mpps_status: str | None
    images_expected: int | None = None  # as said at completion by hand
    series: tuple[SeriesCount, ...] = ()  # what the scanner has sent, series by series
    repeats: int = 0  # technical repeats recorded during the examination


@dataclass(frozen=True, slots=True)
class SeriesCount:
    modality: str
    number: str
    description: str
    images: int


@dataclass(frozen=True, slots=True)
class CalendarSlot:
    slot_id: int
    start_at: datetime
    end_at: datetime
    accession: str | None
    patient_name: str | None
    state: str | None
    blocked: str | None  # the block's reason, when one covers the slot


def rooms(ctx: Context) -> list[RoomRef]:
    with ctx.uow(readonly=True) as uow:
        rows = uow.session.execute(
            select(Room, Site).join(Site, Site.id == Room.site_id).order_by(Site.code, Room.code)
        ).tuples()
        return [_ref(room, site) for room, site in rows]


def room_by_ae(ctx: Context, ae_title: str) -> RoomRef:
    """A room by its scanner's AE title: unique in the region, and what staff call it."""
    with ctx.uow(readonly=True) as uow:
        found = uow.session.scalars(select(Room).where(Room.ae_title == ae_title)).first()
        if found is None:
            raise NotFound(Msg("no room has this AE title"), field="room", value=ae_title)
        return _ref(found, uow.session.get_one(Site, found.site_id))


def _ref(r: Room, site: Site) -> RoomRef:
    return RoomRef(r.id, r.code, r.name, r.modality, r.ae_title, site.code, site.name)


def day_list(ctx: Context, room_id: int, day: date) -> list[DayItem]:
    """The room's booked procedures on a Copenhagen day, earliest first, with no-shows."""
    start, end = start_of_local_day(day), start_of_local_day(day + timedelta(days=1))
    stmt = (
        select(Appointment, Slot, Procedure, ProcedureCode.name, Referral)
        .join(Slot, Slot.id == Appointment.slot_id)
        .join(Procedure, Procedure.id == Appointment.procedure_id)
        .join(ProcedureCode, ProcedureCode.code == Procedure.code)
        .join(Referral, Referral.id == Procedure.referral_id)
        .where(Slot.room_id == room_id, Slot.start_at >= start, Slot.start_at < end)
        .where(or_(Appointment.active.is_(True), Procedure.state == "no-show"))
        .order_by(Slot.start_at, Appointment.id)
    )
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        rows = s.execute(stmt).tuples().all()
        patient_ids = {ref.patient_id for *_, ref in rows}
        patients = {p.id: p for p in s.scalars(select(Patient).where(Patient.id.in_(patient_ids)))}
        numbers = primary_identifiers(s, patient_ids)
        ids = [p.id for _, _, p, _, _ in rows]
        steps, series, repeats = _mpps(s, ids), _series(s, ids), _repeats(s, ids)
        latest = {p.id: a.id for a, _, p, _, _ in rows}  # a no-show shows only its last time
        return [
            DayItem(
                a.id,
                slot.start_at,
                slot.end_at,
                p.accession or "",
                name,
                p.state,
                ref.priority,
                numbers.get(ref.patient_id, ""),
                display_name(patients[ref.patient_id]),
                steps.get(p.id),
                p.images_expected,
                tuple(series.get(p.id, ())),
                repeats.get(p.id, 0),
            )
            for a, slot, p, name, ref in rows
            if a.active or latest[p.id] == a.id
        ]


def _mpps(s: Session, procedure_ids: list[int]) -> dict[int, str]:
    """The status of each procedure's latest performed step (PS3.4 F.7), group cases included."""
    link = PerformedStepProcedure
    rows = s.execute(
        select(link.procedure_id, PerformedStep.status)
        .join(PerformedStep, PerformedStep.id == link.performed_step_id)
        .where(link.procedure_id.in_(procedure_ids))
        .order_by(PerformedStep.id)
    ).tuples()
    return dict(rows.all())  # a Result has keys(): dict() would take it for a mapping


def _series(s: Session, procedure_ids: list[int]) -> dict[int, list[SeriesCount]]:
    """The images received for each procedure's linked study, per series in number order."""
    rows = s.execute(
        select(
            Study.procedure_id,
            Series.modality,
            Series.series_number,
            Series.description,
            func.count(Instance.id),
        )
        .join(Series, Series.study_id == Study.id)
        .join(Instance, Instance.series_id == Series.id)
        .where(Study.procedure_id.in_(procedure_ids))
        .group_by(Study.procedure_id, Series.id)
        .order_by(Study.procedure_id, Series.series_number, Series.id)
    ).tuples()
    found: dict[int, list[SeriesCount]] = {}
    for procedure_id, modality, number, description, images in rows:
        if procedure_id is not None:
            found.setdefault(procedure_id, []).append(
                SeriesCount(modality, number, description, images)
            )
    return found


def _repeats(s: Session, procedure_ids: list[int]) -> dict[int, int]:
    rows = s.execute(
        select(Event.procedure_id, func.count())
        .where(Event.procedure_id.in_(procedure_ids), Event.kind == "procedure.repeated")
        .group_by(Event.procedure_id)
    ).tuples()
    return {procedure_id: n for procedure_id, n in rows if procedure_id is not None}


def calendar(ctx: Context, room_id: int, first: date, days: int) -> dict[date, list[CalendarSlot]]:
    """Every slot of the room over ``days`` Copenhagen days: free, booked, or blocked."""
    start, end = start_of_local_day(first), start_of_local_day(first + timedelta(days=days))
    booked = and_(Appointment.slot_id == Slot.id, Appointment.active.is_(True))
    stmt = (
        select(Slot, Procedure.accession, Procedure.state, Patient)
        .outerjoin(Appointment, booked)
        .outerjoin(Procedure, Procedure.id == Appointment.procedure_id)
        .outerjoin(Referral, Referral.id == Procedure.referral_id)
        .outerjoin(Patient, Patient.id == Referral.patient_id)
        .where(Slot.room_id == room_id, Slot.start_at >= start, Slot.start_at < end)
        .order_by(Slot.start_at)
    )
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        found = s.get(Room, room_id)
        if found is None:
            raise NotFound(Msg("no such room"), field="room", value=room_id)
        blocks = s.scalars(
            select(Block).where(
                Block.lifted_at.is_(None),
                or_(Block.room_id == room_id, Block.site_id == found.site_id),
                Block.start_at < end,
                Block.end_at > start,
            )
        ).all()
        rows = s.execute(stmt).tuples().all()
        grid: dict[date, list[CalendarSlot]] = {first + timedelta(days=i): [] for i in range(days)}
        for slot, acc, state, patient in rows:
            block = next(
                (b for b in blocks if b.start_at < slot.end_at and b.end_at > slot.start_at), None
            )
            day = local_date(slot.start_at)
            grid.setdefault(day, []).append(
                CalendarSlot(
                    slot.id,
                    slot.start_at,
                    slot.end_at,
                    acc,
                    display_name(patient) if patient else None,
                    state,
                    block.reason if block else None,
                )
            )
        return grid
